var zt=Object.defineProperty;var Dt=(i,t,e)=>t in i?zt(i,t,{enumerable:!0,configurable:!0,writable:!0,value:e}):i[t]=e;var Z=(i,t,e)=>Dt(i,typeof t!="symbol"?t+"":t,e);var q=globalThis,F=q.ShadowRoot&&(q.ShadyCSS===void 0||q.ShadyCSS.nativeShadow)&&"adoptedStyleSheets"in Document.prototype&&"replace"in CSSStyleSheet.prototype,G=Symbol(),_t=new WeakMap,R=class{constructor(t,e,s){if(this._$cssResult$=!0,s!==G)throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");this.cssText=t,this.t=e}get styleSheet(){let t=this.o,e=this.t;if(F&&t===void 0){let s=e!==void 0&&e.length===1;s&&(t=_t.get(e)),t===void 0&&((this.o=t=new CSSStyleSheet).replaceSync(this.cssText),s&&_t.set(e,t))}return t}toString(){return this.cssText}},ft=i=>new R(typeof i=="string"?i:i+"",void 0,G),X=(i,...t)=>{let e=i.length===1?i[0]:t.reduce((s,o,n)=>s+(r=>{if(r._$cssResult$===!0)return r.cssText;if(typeof r=="number")return r;throw Error("Value passed to 'css' function must be a 'css' function result: "+r+". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.")})(o)+i[n+1],i[0]);return new R(e,i,G)},$t=(i,t)=>{if(F)i.adoptedStyleSheets=t.map(e=>e instanceof CSSStyleSheet?e:e.styleSheet);else for(let e of t){let s=document.createElement("style"),o=q.litNonce;o!==void 0&&s.setAttribute("nonce",o),s.textContent=e.cssText,i.appendChild(s)}},Y=F?i=>i:i=>i instanceof CSSStyleSheet?(t=>{let e="";for(let s of t.cssRules)e+=s.cssText;return ft(e)})(i):i;var{is:Wt,defineProperty:Bt,getOwnPropertyDescriptor:jt,getOwnPropertyNames:Vt,getOwnPropertySymbols:It,getPrototypeOf:qt}=Object,K=globalThis,mt=K.trustedTypes,Ft=mt?mt.emptyScript:"",Kt=K.reactiveElementPolyfillSupport,H=(i,t)=>i,tt={toAttribute(i,t){switch(t){case Boolean:i=i?Ft:null;break;case Object:case Array:i=i==null?i:JSON.stringify(i)}return i},fromAttribute(i,t){let e=i;switch(t){case Boolean:e=i!==null;break;case Number:e=i===null?null:Number(i);break;case Object:case Array:try{e=JSON.parse(i)}catch{e=null}}return e}},yt=(i,t)=>!Wt(i,t),gt={attribute:!0,type:String,converter:tt,reflect:!1,useDefault:!1,hasChanged:yt};Symbol.metadata??=Symbol("metadata"),K.litPropertyMetadata??=new WeakMap;var b=class extends HTMLElement{static addInitializer(t){this._$Ei(),(this.l??=[]).push(t)}static get observedAttributes(){return this.finalize(),this._$Eh&&[...this._$Eh.keys()]}static createProperty(t,e=gt){if(e.state&&(e.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(t)&&((e=Object.create(e)).wrapped=!0),this.elementProperties.set(t,e),!e.noAccessor){let s=Symbol(),o=this.getPropertyDescriptor(t,s,e);o!==void 0&&Bt(this.prototype,t,o)}}static getPropertyDescriptor(t,e,s){let{get:o,set:n}=jt(this.prototype,t)??{get(){return this[e]},set(r){this[e]=r}};return{get:o,set(r){let p=o?.call(this);n?.call(this,r),this.requestUpdate(t,p,s)},configurable:!0,enumerable:!0}}static getPropertyOptions(t){return this.elementProperties.get(t)??gt}static _$Ei(){if(this.hasOwnProperty(H("elementProperties")))return;let t=qt(this);t.finalize(),t.l!==void 0&&(this.l=[...t.l]),this.elementProperties=new Map(t.elementProperties)}static finalize(){if(this.hasOwnProperty(H("finalized")))return;if(this.finalized=!0,this._$Ei(),this.hasOwnProperty(H("properties"))){let e=this.properties,s=[...Vt(e),...It(e)];for(let o of s)this.createProperty(o,e[o])}let t=this[Symbol.metadata];if(t!==null){let e=litPropertyMetadata.get(t);if(e!==void 0)for(let[s,o]of e)this.elementProperties.set(s,o)}this._$Eh=new Map;for(let[e,s]of this.elementProperties){let o=this._$Eu(e,s);o!==void 0&&this._$Eh.set(o,e)}this.elementStyles=this.finalizeStyles(this.styles)}static finalizeStyles(t){let e=[];if(Array.isArray(t)){let s=new Set(t.flat(1/0).reverse());for(let o of s)e.unshift(Y(o))}else t!==void 0&&e.push(Y(t));return e}static _$Eu(t,e){let s=e.attribute;return s===!1?void 0:typeof s=="string"?s:typeof t=="string"?t.toLowerCase():void 0}constructor(){super(),this._$Ep=void 0,this.isUpdatePending=!1,this.hasUpdated=!1,this._$Em=null,this._$Ev()}_$Ev(){this._$ES=new Promise(t=>this.enableUpdating=t),this._$AL=new Map,this._$E_(),this.requestUpdate(),this.constructor.l?.forEach(t=>t(this))}addController(t){(this._$EO??=new Set).add(t),this.renderRoot!==void 0&&this.isConnected&&t.hostConnected?.()}removeController(t){this._$EO?.delete(t)}_$E_(){let t=new Map,e=this.constructor.elementProperties;for(let s of e.keys())this.hasOwnProperty(s)&&(t.set(s,this[s]),delete this[s]);t.size>0&&(this._$Ep=t)}createRenderRoot(){let t=this.shadowRoot??this.attachShadow(this.constructor.shadowRootOptions);return $t(t,this.constructor.elementStyles),t}connectedCallback(){this.renderRoot??=this.createRenderRoot(),this.enableUpdating(!0),this._$EO?.forEach(t=>t.hostConnected?.())}enableUpdating(t){}disconnectedCallback(){this._$EO?.forEach(t=>t.hostDisconnected?.())}attributeChangedCallback(t,e,s){this._$AK(t,s)}_$ET(t,e){let s=this.constructor.elementProperties.get(t),o=this.constructor._$Eu(t,s);if(o!==void 0&&s.reflect===!0){let n=(s.converter?.toAttribute!==void 0?s.converter:tt).toAttribute(e,s.type);this._$Em=t,n==null?this.removeAttribute(o):this.setAttribute(o,n),this._$Em=null}}_$AK(t,e){let s=this.constructor,o=s._$Eh.get(t);if(o!==void 0&&this._$Em!==o){let n=s.getPropertyOptions(o),r=typeof n.converter=="function"?{fromAttribute:n.converter}:n.converter?.fromAttribute!==void 0?n.converter:tt;this._$Em=o;let p=r.fromAttribute(e,n.type);this[o]=p??this._$Ej?.get(o)??p,this._$Em=null}}requestUpdate(t,e,s,o=!1,n){if(t!==void 0){let r=this.constructor;if(o===!1&&(n=this[t]),s??=r.getPropertyOptions(t),!((s.hasChanged??yt)(n,e)||s.useDefault&&s.reflect&&n===this._$Ej?.get(t)&&!this.hasAttribute(r._$Eu(t,s))))return;this.C(t,e,s)}this.isUpdatePending===!1&&(this._$ES=this._$EP())}C(t,e,{useDefault:s,reflect:o,wrapped:n},r){s&&!(this._$Ej??=new Map).has(t)&&(this._$Ej.set(t,r??e??this[t]),n!==!0||r!==void 0)||(this._$AL.has(t)||(this.hasUpdated||s||(e=void 0),this._$AL.set(t,e)),o===!0&&this._$Em!==t&&(this._$Eq??=new Set).add(t))}async _$EP(){this.isUpdatePending=!0;try{await this._$ES}catch(e){Promise.reject(e)}let t=this.scheduleUpdate();return t!=null&&await t,!this.isUpdatePending}scheduleUpdate(){return this.performUpdate()}performUpdate(){if(!this.isUpdatePending)return;if(!this.hasUpdated){if(this.renderRoot??=this.createRenderRoot(),this._$Ep){for(let[o,n]of this._$Ep)this[o]=n;this._$Ep=void 0}let s=this.constructor.elementProperties;if(s.size>0)for(let[o,n]of s){let{wrapped:r}=n,p=this[o];r!==!0||this._$AL.has(o)||p===void 0||this.C(o,void 0,n,p)}}let t=!1,e=this._$AL;try{t=this.shouldUpdate(e),t?(this.willUpdate(e),this._$EO?.forEach(s=>s.hostUpdate?.()),this.update(e)):this._$EM()}catch(s){throw t=!1,this._$EM(),s}t&&this._$AE(e)}willUpdate(t){}_$AE(t){this._$EO?.forEach(e=>e.hostUpdated?.()),this.hasUpdated||(this.hasUpdated=!0,this.firstUpdated(t)),this.updated(t)}_$EM(){this._$AL=new Map,this.isUpdatePending=!1}get updateComplete(){return this.getUpdateComplete()}getUpdateComplete(){return this._$ES}shouldUpdate(t){return!0}update(t){this._$Eq&&=this._$Eq.forEach(e=>this._$ET(e,this[e])),this._$EM()}updated(t){}firstUpdated(t){}};b.elementStyles=[],b.shadowRootOptions={mode:"open"},b[H("elementProperties")]=new Map,b[H("finalized")]=new Map,Kt?.({ReactiveElement:b}),(K.reactiveElementVersions??=[]).push("2.1.2");var at=globalThis,vt=i=>i,J=at.trustedTypes,bt=J?J.createPolicy("lit-html",{createHTML:i=>i}):void 0,Et="$lit$",x=`lit$${Math.random().toFixed(9).slice(2)}$`,Ct="?"+x,Jt=`<${Ct}>`,E=document,L=()=>E.createComment(""),z=i=>i===null||typeof i!="object"&&typeof i!="function",lt=Array.isArray,Qt=i=>lt(i)||typeof i?.[Symbol.iterator]=="function",et=`[ 	
\f\r]`,T=/<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g,xt=/-->/g,wt=/>/g,S=RegExp(`>|${et}(?:([^\\s"'>=/]+)(${et}*=${et}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`,"g"),At=/'/g,St=/"/g,Mt=/^(?:script|style|textarea|title)$/i,ct=i=>(t,...e)=>({_$litType$:i,strings:t,values:e}),$=ct(1),v=ct(2),ae=ct(3),C=Symbol.for("lit-noChange"),f=Symbol.for("lit-nothing"),kt=new WeakMap,k=E.createTreeWalker(E,129);function Pt(i,t){if(!lt(i)||!i.hasOwnProperty("raw"))throw Error("invalid template strings array");return bt!==void 0?bt.createHTML(t):t}var Zt=(i,t)=>{let e=i.length-1,s=[],o,n=t===2?"<svg>":t===3?"<math>":"",r=T;for(let p=0;p<e;p++){let a=i[p],u,l,c=-1,d=0;for(;d<a.length&&(r.lastIndex=d,l=r.exec(a),l!==null);)d=r.lastIndex,r===T?l[1]==="!--"?r=xt:l[1]!==void 0?r=wt:l[2]!==void 0?(Mt.test(l[2])&&(o=RegExp("</"+l[2],"g")),r=S):l[3]!==void 0&&(r=S):r===S?l[0]===">"?(r=o??T,c=-1):l[1]===void 0?c=-2:(c=r.lastIndex-l[2].length,u=l[1],r=l[3]===void 0?S:l[3]==='"'?St:At):r===St||r===At?r=S:r===xt||r===wt?r=T:(r=S,o=void 0);let h=r===S&&i[p+1].startsWith("/>")?" ":"";n+=r===T?a+Jt:c>=0?(s.push(u),a.slice(0,c)+Et+a.slice(c)+x+h):a+x+(c===-2?p:h)}return[Pt(i,n+(i[e]||"<?>")+(t===2?"</svg>":t===3?"</math>":"")),s]},D=class i{constructor({strings:t,_$litType$:e},s){let o;this.parts=[];let n=0,r=0,p=t.length-1,a=this.parts,[u,l]=Zt(t,e);if(this.el=i.createElement(u,s),k.currentNode=this.el.content,e===2||e===3){let c=this.el.content.firstChild;c.replaceWith(...c.childNodes)}for(;(o=k.nextNode())!==null&&a.length<p;){if(o.nodeType===1){if(o.hasAttributes())for(let c of o.getAttributeNames())if(c.endsWith(Et)){let d=l[r++],h=o.getAttribute(c).split(x),_=/([.?@])?(.*)/.exec(d);a.push({type:1,index:n,name:_[2],strings:h,ctor:_[1]==="."?ot:_[1]==="?"?it:_[1]==="@"?nt:U}),o.removeAttribute(c)}else c.startsWith(x)&&(a.push({type:6,index:n}),o.removeAttribute(c));if(Mt.test(o.tagName)){let c=o.textContent.split(x),d=c.length-1;if(d>0){o.textContent=J?J.emptyScript:"";for(let h=0;h<d;h++)o.append(c[h],L()),k.nextNode(),a.push({type:2,index:++n});o.append(c[d],L())}}}else if(o.nodeType===8)if(o.data===Ct)a.push({type:2,index:n});else{let c=-1;for(;(c=o.data.indexOf(x,c+1))!==-1;)a.push({type:7,index:n}),c+=x.length-1}n++}}static createElement(t,e){let s=E.createElement("template");return s.innerHTML=t,s}};function O(i,t,e=i,s){if(t===C)return t;let o=s!==void 0?e._$Co?.[s]:e._$Cl,n=z(t)?void 0:t._$litDirective$;return o?.constructor!==n&&(o?._$AO?.(!1),n===void 0?o=void 0:(o=new n(i),o._$AT(i,e,s)),s!==void 0?(e._$Co??=[])[s]=o:e._$Cl=o),o!==void 0&&(t=O(i,o._$AS(i,t.values),o,s)),t}var st=class{constructor(t,e){this._$AV=[],this._$AN=void 0,this._$AD=t,this._$AM=e}get parentNode(){return this._$AM.parentNode}get _$AU(){return this._$AM._$AU}u(t){let{el:{content:e},parts:s}=this._$AD,o=(t?.creationScope??E).importNode(e,!0);k.currentNode=o;let n=k.nextNode(),r=0,p=0,a=s[0];for(;a!==void 0;){if(r===a.index){let u;a.type===2?u=new W(n,n.nextSibling,this,t):a.type===1?u=new a.ctor(n,a.name,a.strings,this,t):a.type===6&&(u=new rt(n,this,t)),this._$AV.push(u),a=s[++p]}r!==a?.index&&(n=k.nextNode(),r++)}return k.currentNode=E,o}p(t){let e=0;for(let s of this._$AV)s!==void 0&&(s.strings!==void 0?(s._$AI(t,s,e),e+=s.strings.length-2):s._$AI(t[e])),e++}},W=class i{get _$AU(){return this._$AM?._$AU??this._$Cv}constructor(t,e,s,o){this.type=2,this._$AH=f,this._$AN=void 0,this._$AA=t,this._$AB=e,this._$AM=s,this.options=o,this._$Cv=o?.isConnected??!0}get parentNode(){let t=this._$AA.parentNode,e=this._$AM;return e!==void 0&&t?.nodeType===11&&(t=e.parentNode),t}get startNode(){return this._$AA}get endNode(){return this._$AB}_$AI(t,e=this){t=O(this,t,e),z(t)?t===f||t==null||t===""?(this._$AH!==f&&this._$AR(),this._$AH=f):t!==this._$AH&&t!==C&&this._(t):t._$litType$!==void 0?this.$(t):t.nodeType!==void 0?this.T(t):Qt(t)?this.k(t):this._(t)}O(t){return this._$AA.parentNode.insertBefore(t,this._$AB)}T(t){this._$AH!==t&&(this._$AR(),this._$AH=this.O(t))}_(t){this._$AH!==f&&z(this._$AH)?this._$AA.nextSibling.data=t:this.T(E.createTextNode(t)),this._$AH=t}$(t){let{values:e,_$litType$:s}=t,o=typeof s=="number"?this._$AC(t):(s.el===void 0&&(s.el=D.createElement(Pt(s.h,s.h[0]),this.options)),s);if(this._$AH?._$AD===o)this._$AH.p(e);else{let n=new st(o,this),r=n.u(this.options);n.p(e),this.T(r),this._$AH=n}}_$AC(t){let e=kt.get(t.strings);return e===void 0&&kt.set(t.strings,e=new D(t)),e}k(t){lt(this._$AH)||(this._$AH=[],this._$AR());let e=this._$AH,s,o=0;for(let n of t)o===e.length?e.push(s=new i(this.O(L()),this.O(L()),this,this.options)):s=e[o],s._$AI(n),o++;o<e.length&&(this._$AR(s&&s._$AB.nextSibling,o),e.length=o)}_$AR(t=this._$AA.nextSibling,e){for(this._$AP?.(!1,!0,e);t!==this._$AB;){let s=vt(t).nextSibling;vt(t).remove(),t=s}}setConnected(t){this._$AM===void 0&&(this._$Cv=t,this._$AP?.(t))}},U=class{get tagName(){return this.element.tagName}get _$AU(){return this._$AM._$AU}constructor(t,e,s,o,n){this.type=1,this._$AH=f,this._$AN=void 0,this.element=t,this.name=e,this._$AM=o,this.options=n,s.length>2||s[0]!==""||s[1]!==""?(this._$AH=Array(s.length-1).fill(new String),this.strings=s):this._$AH=f}_$AI(t,e=this,s,o){let n=this.strings,r=!1;if(n===void 0)t=O(this,t,e,0),r=!z(t)||t!==this._$AH&&t!==C,r&&(this._$AH=t);else{let p=t,a,u;for(t=n[0],a=0;a<n.length-1;a++)u=O(this,p[s+a],e,a),u===C&&(u=this._$AH[a]),r||=!z(u)||u!==this._$AH[a],u===f?t=f:t!==f&&(t+=(u??"")+n[a+1]),this._$AH[a]=u}r&&!o&&this.j(t)}j(t){t===f?this.element.removeAttribute(this.name):this.element.setAttribute(this.name,t??"")}},ot=class extends U{constructor(){super(...arguments),this.type=3}j(t){this.element[this.name]=t===f?void 0:t}},it=class extends U{constructor(){super(...arguments),this.type=4}j(t){this.element.toggleAttribute(this.name,!!t&&t!==f)}},nt=class extends U{constructor(t,e,s,o,n){super(t,e,s,o,n),this.type=5}_$AI(t,e=this){if((t=O(this,t,e,0)??f)===C)return;let s=this._$AH,o=t===f&&s!==f||t.capture!==s.capture||t.once!==s.once||t.passive!==s.passive,n=t!==f&&(s===f||o);o&&this.element.removeEventListener(this.name,this,s),n&&this.element.addEventListener(this.name,this,t),this._$AH=t}handleEvent(t){typeof this._$AH=="function"?this._$AH.call(this.options?.host??this.element,t):this._$AH.handleEvent(t)}},rt=class{constructor(t,e,s){this.element=t,this.type=6,this._$AN=void 0,this._$AM=e,this.options=s}get _$AU(){return this._$AM._$AU}_$AI(t){O(this,t)}};var Gt=at.litHtmlPolyfillSupport;Gt?.(D,W),(at.litHtmlVersions??=[]).push("3.3.3");var Ot=(i,t,e)=>{let s=e?.renderBefore??t,o=s._$litPart$;if(o===void 0){let n=e?.renderBefore??null;s._$litPart$=o=new W(t.insertBefore(L(),n),n,void 0,e??{})}return o._$AI(i),o};var ht=globalThis,w=class extends b{constructor(){super(...arguments),this.renderOptions={host:this},this._$Do=void 0}createRenderRoot(){let t=super.createRenderRoot();return this.renderOptions.renderBefore??=t.firstChild,t}update(t){let e=this.render();this.hasUpdated||(this.renderOptions.isConnected=this.isConnected),super.update(t),this._$Do=Ot(e,this.renderRoot,this.renderOptions)}connectedCallback(){super.connectedCallback(),this._$Do?.setConnected(!0)}disconnectedCallback(){super.disconnectedCallback(),this._$Do?.setConnected(!1)}render(){return C}};w._$litElement$=!0,w.finalized=!0,ht.litElementHydrateSupport?.({LitElement:w});var Xt=ht.litElementPolyfillSupport;Xt?.({LitElement:w});(ht.litElementVersions??=[]).push("4.2.2");function Ut(i,t){let e=new Map,s=new Map;for(let[h,_]of i.nodes)s.set(h,_),_!==null&&(e.has(_)||e.set(_,[]),e.get(_).push(h));let o=new Map;for(let h of i.inlets)o.has(h.node)||o.set(h.node,[]),o.get(h.node).push(h);let n=new Map,r=h=>{if(n.has(h))return n.get(h);n.set(h,!1);let _=o.has(h)||(e.get(h)||[]).some(y=>r(y));return n.set(h,_),_},p=i.substation.node,a=new Map,u=new Map,l=22/2,c=0,d=(h,_,y)=>{let g=(e.get(h)||[]).filter(r),I=o.get(h)||[];for(;h!==p&&g.length===1&&I.length===0&&!o.has(g[0])&&(e.get(g[0])||[]).filter(r).length>0;)a.set(h,{x:_*26,y:null,parent:y,folded:g[0]}),h=g[0],g=(e.get(h)||[]).filter(r);let M=[];for(let P of I){let Lt=(t.has(P.id)?Math.ceil(P.households.length/30):0)*11;u.set(P.id,{...P,x:(_+1)*26,y:l,parent:h}),c=Math.max(c,_+1),M.push(l),l+=22+Lt}for(let P of g)M.push(d(P,_+1,h));let ut=M.length?(M[0]+M[M.length-1])/2:l;return a.set(h,{x:_*26,y:ut,parent:y}),c=Math.max(c,_),ut};d(p,0,null);for(let[h,_]of a)if(_.y===null){let y=_.folded;for(;a.get(y)&&a.get(y).y===null;)y=a.get(y).folded;_.y=a.get(y)?a.get(y).y:0}return{nodes:a,inlets:u,width:(c+1)*26,height:l}}var Q=320,A=120,m={left:34,right:8,top:8,bottom:18};function Nt(i){let t=i.filter(o=>o!=null&&Number.isFinite(o));if(!t.length)return null;let e=Math.min(...t),s=Math.max(...t);return s-e<1e-9&&(e-=1,s+=1),[e,s]}function Rt(i){let t=Math.abs(i);return t>=100?i.toFixed(0):t>=10?i.toFixed(1):i.toFixed(2)}function B({series:i,fixed:t=null,xLabel:e="",empty:s="",name:o=""}){let n=i.flatMap(d=>d.points.map(h=>h[0])),r=i.flatMap(d=>d.points.map(h=>h[1])),p=Nt(n),a=t||Nt(r);if(!p||!a)return $`<div class="chart-empty" data-chart=${o}>${s}</div>`;let u=d=>m.left+(d-p[0])/(p[1]-p[0]||1)*(Q-m.left-m.right),l=d=>A-m.bottom-(d-a[0])/(a[1]-a[0])*(A-m.top-m.bottom),c=i.map(d=>{let h=d.points.filter(g=>g[1]!==null&&Number.isFinite(g[1])),_=h.map((g,I)=>`${I?"L":"M"}${u(g[0]).toFixed(1)},${l(g[1]).toFixed(1)}`).join(""),y=d.dots||h.length===1?h.map(g=>v`<circle cx=${u(g[0])} cy=${l(g[1])} r="2.5" fill=${d.color}></circle>`):[];return v`<path d=${_} fill="none" stroke=${d.color} stroke-width="1.6"></path>${y}`});return $`<figure class="chart" data-chart=${o} data-points=${r.length}>
    <svg viewBox="0 0 ${Q} ${A}" role="img" preserveAspectRatio="none">
      <line x1=${m.left} y1=${A-m.bottom} x2=${Q-m.right} y2=${A-m.bottom} class="axis"></line>
      <line x1=${m.left} y1=${m.top} x2=${m.left} y2=${A-m.bottom} class="axis"></line>
      <text x=${m.left-3} y=${m.top+8} class="tick" text-anchor="end">${Rt(a[1])}</text>
      <text x=${m.left-3} y=${A-m.bottom} class="tick" text-anchor="end">${Rt(a[0])}</text>
      <text x=${Q-m.right} y=${A-4} class="tick" text-anchor="end">${e}</text>
      ${c}
    </svg>
    <figcaption>${i.map(d=>$`<span><i style="background:${d.color}"></i>${d.label}</span>`)}</figcaption>
  </figure>`}var Ht={en:{title:"Heat network",network:"Network",no_networks:"No heatbalance network is running.",loading:"Loading the network\u2026",balance_state:"Balance state",share_in_band:"In band",supply:"Supply",return:"Return",outdoor:"Outdoor",alarms:"Alarms",mode:"Mode",auto:"automatic",manual_mode:"manual",topology:"Topology",table:"Inlets",charts:"Over time",gradient:"Available \u0394P along the main",share_chart:"Share of inlets in band (%)",pump_chart:"Pump head (m) and power (kW)",forecast_chart:"Heat load: forecast and actual (kW)",head:"head",power:"power",forecast:"forecast",actual:"actual",distance:"distance from the substation (m)",name:"Inlet",state:"State",flow_dev:"Flow dev. (%)",return_c:"Return (\xB0C)",opening:"Valve (%)",dp:"\u0394P (kPa)",quality:"Data (%)",households:"households",expand:"show households",collapse:"hide households",substation:"Substation",cycle:"plant time",balancing:"balancing",balanced:"balanced",disturbed:"disturbed",not_balanced:"not balanced",in_band:"in band",short:"short",over:"over",no_data:"no data",fault:"fault",manual:"manual",loop:"loop",no_points:"Waiting for the first cycle\u2026",balance_now:"Balance now",acknowledge:"Acknowledge alarms",done:"Done."},"zh-Hans":{title:"\u70ED\u7F51\u5E73\u8861",network:"\u7BA1\u7F51",no_networks:"\u6CA1\u6709\u6B63\u5728\u8FD0\u884C\u7684 heatbalance \u7BA1\u7F51\u3002",loading:"\u6B63\u5728\u52A0\u8F7D\u7BA1\u7F51\u2026",balance_state:"\u5E73\u8861\u72B6\u6001",share_in_band:"\u8FBE\u6807\u6BD4\u4F8B",supply:"\u4F9B\u6C34",return:"\u56DE\u6C34",outdoor:"\u5BA4\u5916",alarms:"\u62A5\u8B66",mode:"\u6A21\u5F0F",auto:"\u81EA\u52A8",manual_mode:"\u624B\u52A8",topology:"\u7BA1\u7F51\u62D3\u6251",table:"\u70ED\u529B\u5165\u53E3",charts:"\u8D8B\u52BF",gradient:"\u6CBF\u4E3B\u5E72\u7EBF\u7684\u8D44\u7528\u538B\u5DEE",share_chart:"\u8FBE\u6807\u5165\u53E3\u6BD4\u4F8B\uFF08%\uFF09",pump_chart:"\u5FAA\u73AF\u6CF5\u626C\u7A0B\uFF08m\uFF09\u4E0E\u529F\u7387\uFF08kW\uFF09",forecast_chart:"\u70ED\u8D1F\u8377\uFF1A\u9884\u6D4B\u4E0E\u5B9E\u9645\uFF08kW\uFF09",head:"\u626C\u7A0B",power:"\u529F\u7387",forecast:"\u9884\u6D4B",actual:"\u5B9E\u9645",distance:"\u8DDD\u6362\u70ED\u7AD9\u8DDD\u79BB\uFF08m\uFF09",name:"\u5165\u53E3",state:"\u72B6\u6001",flow_dev:"\u6D41\u91CF\u504F\u5DEE\uFF08%\uFF09",return_c:"\u56DE\u6C34\uFF08\xB0C\uFF09",opening:"\u9600\u95E8\u5F00\u5EA6\uFF08%\uFF09",dp:"\u538B\u5DEE\uFF08kPa\uFF09",quality:"\u6570\u636E\uFF08%\uFF09",households:"\u6237",expand:"\u5C55\u5F00\u70ED\u7528\u6237",collapse:"\u6536\u8D77\u70ED\u7528\u6237",substation:"\u6362\u70ED\u7AD9",cycle:"\u8FD0\u884C\u65F6\u95F4",balancing:"\u8C03\u8282\u4E2D",balanced:"\u5DF2\u5E73\u8861",disturbed:"\u53D7\u6270\u52A8",not_balanced:"\u672A\u5E73\u8861",in_band:"\u8FBE\u6807",short:"\u6B20\u6D41",over:"\u8D85\u6D41",no_data:"\u65E0\u6570\u636E",fault:"\u6545\u969C",manual:"\u624B\u52A8",loop:"\u73AF\u8DEF",no_points:"\u7B49\u5F85\u7B2C\u4E00\u4E2A\u8C03\u8282\u5468\u671F\u2026",balance_now:"\u7ACB\u5373\u8C03\u8282",acknowledge:"\u786E\u8BA4\u62A5\u8B66",done:"\u5DF2\u5B8C\u6210\u3002"}};function Tt(i){return i&&i.startsWith("zh")?Ht["zh-Hans"]:Ht.en}var N={in_band:"var(--success-color, #43a047)",short:"var(--info-color, #039be5)",over:"var(--error-color, #db4437)",no_data:"var(--disabled-color, #9e9e9e)",fault:"#8e24aa",manual:"var(--warning-color, #ffa600)"},pt=Object.keys(N),te=[["name","name"],["state","state"],["flow_dev","flow_dev"],["return_c","return_c"],["opening","opening"],["dp_kpa","dp"],["alarms","alarms"],["quality","quality"]],V=class extends w{constructor(){super(),this._networks=null,this._entry=null,this._view=null,this._expanded=new Set,this._sort=["state",1],this._message="",this._unsub=null,this._opened=performance.now()}connectedCallback(){super.connectedCallback(),this._opened=performance.now(),this.hass&&this._networks===null&&this._loadNetworks()}disconnectedCallback(){super.disconnectedCallback(),this._unsubscribe()}updated(t){t.has("hass")&&this.hass&&this._networks===null&&this._loadNetworks(),this._view&&this._view.live&&!this.hasAttribute("data-rendered")&&this.setAttribute("data-rendered",(performance.now()-this._opened).toFixed(0)),t.has("_view")&&this._view&&this._view.live&&(this.setAttribute("data-time",this._view.live.time_s),this.setAttribute("data-updated",Date.now())),this.toggleAttribute("dark",!!(this.hass&&this.hass.themes&&this.hass.themes.darkMode))}get _t(){let t=this.hass;return Tt(t&&(t.locale&&t.locale.language||t.language)||"en")}async _loadNetworks(){this._networks=[],this._networks=await this.hass.callWS({type:"heatbalance/view/networks"});let t=new URLSearchParams(location.search).get("entry"),e=this._networks.find(s=>s.entry_id===t)||this._networks[0];e&&this._select(e.entry_id,!1)}async _select(t,e=!0){this._unsubscribe(),this._entry=t,this._view=null,this._expanded=new Set,this.removeAttribute("data-rendered"),e&&(this._opened=performance.now());let s=await this.hass.connection.subscribeMessage(o=>this._onMessage(t,o),{type:"heatbalance/view/subscribe",entry_id:t});this._entry!==t?s():this._unsub=s}_unsubscribe(){this._unsub&&(this._unsub(),this._unsub=null)}_onMessage(t,e){if(t!==this._entry)return;if(e.topology){this._view={...e,history:e.history||[]};return}let s=this._view.history.slice(-719);e.point&&(!s.length||s[s.length-1].t!==e.point.t)&&s.push(e.point),this._view={...this._view,live:e.live,history:s}}render(){let t=this._t;return $`
      <div class="toolbar">
        ${this.narrow?$`<button class="menu" aria-label="menu" @click=${this._toggleMenu}>
              <svg viewBox="0 0 24 24"><path d="M3,6H21V8H3V6M3,11H21V13H3V11M3,16H21V18H3V16Z"></path></svg>
            </button>`:f}
        <div class="title">${t.title}</div>
        ${this._networks&&this._networks.length>1?$`<select class="networks" @change=${e=>this._select(e.target.value)}>
              ${this._networks.map(e=>$`<option value=${e.entry_id} ?selected=${e.entry_id===this._entry}>${e.title}</option>`)}
            </select>`:f}
      </div>
      <div class="content">${this._content(t)}</div>
    `}_content(t){return this._networks&&this._networks.length===0?$`<ha-card class="pad">${t.no_networks}</ha-card>`:!this._view||!this._view.live?$`<ha-card class="pad">${t.loading}</ha-card>`:$`
      ${this._summary(t)}
      <div class="columns">
        <ha-card class="topology">
          <h2>${t.topology}</h2>
          ${this._legend(t)}
          <div class="scroll">${this._graph(t)}</div>
        </ha-card>
        <div class="side">
          <ha-card>
            <h2>${t.gradient}</h2>
            ${this._gradient(t)}
          </ha-card>
          <ha-card class="charts">
            <h2>${t.charts}</h2>
            ${this._charts(t)}
          </ha-card>
        </div>
      </div>
      <ha-card class="table">
        <h2>${t.table}</h2>
        ${this._table(t)}
      </ha-card>
    `}_summary(t){let e=this._view.live,s=this._view.history[this._view.history.length-1],o=s?s.state:e.balanced?"balanced":"balancing",n={};for(let a of Object.values(e.inlets))n[a.state]=(n[a.state]||0)+1;let r=(a,u,l="")=>$`<div class="tile ${l}"><span>${a}</span><b>${u}</b></div>`,p=(a,u)=>a==null?"\u2013":`${a} ${u}`;return $`<ha-card class="summary">
      ${r(t.balance_state,t[o]||o,`state-${o}`)}
      ${r(t.share_in_band,p(e.share_in_band,"%"))}
      ${r(t.supply,p(e.supply_c,"\xB0C"))}
      ${r(t.return,p(e.return_c,"\xB0C"))}
      ${r(t.outdoor,p(e.outdoor_c,"\xB0C"))}
      ${r(t.alarms,e.alarms)}
      ${r(t.mode,e.auto?t.auto:t.manual_mode)}
      <div class="actions">
        <button data-action="balance_now" @click=${()=>this._call("balance_now")}>${t.balance_now}</button>
        <button data-action="acknowledge_alarm" ?disabled=${!e.alarms}
          @click=${()=>this._call("acknowledge_alarm")}>${t.acknowledge}</button>
        ${this._message?$`<span class="message">${this._message}</span>`:f}
      </div>
      <div class="counts">
        ${pt.filter(a=>n[a]).map(a=>$`<span class="count"><i style="background:${N[a]}"></i>${n[a]} ${t[a]}</span>`)}
      </div>
    </ha-card>`}async _call(t){this._message="";try{await this.hass.callService("heatbalance",t,{config_entry_id:this._entry}),this._message=this._t.done}catch(e){this._message=e&&e.message||String(e)}}_legend(t){return $`<div class="legend">
      ${pt.map(e=>$`<span><i style="background:${N[e]}"></i>${t[e]}</span>`)}
    </div>`}_graph(t){let{topology:e,live:s}=this._view,o=Ut(e,this._expanded),r=o.width+250+330,p=[];for(let[,c]of o.nodes){if(c.folded||c.parent===null)continue;let d=o.nodes.get(c.parent);d&&p.push(v`<path class="pipe" d="M${d.x},${d.y}V${c.y}H${c.x}"></path>`)}for(let[,c]of o.inlets){let d=o.nodes.get(c.parent);d&&p.push(v`<path class="pipe" d="M${d.x},${d.y}V${c.y}H${c.x}"></path>`)}let a=e.loops.map(([c,d])=>{let h=o.nodes.get(c),_=o.nodes.get(d);if(!h||!_)return f;let y=Math.max(h.x,_.x)+10;return v`<path class="loop" d="M${h.x},${h.y}H${y}V${_.y}H${_.x}"><title>${t.loop} ${c}–${d}</title></path>`}),u=o.nodes.get(e.substation.node),l=[...o.inlets.values()].map(c=>this._inlet(t,c,s));return $`<svg class="graph" width=${r} height=${o.height+4} viewBox="-14 -2 ${r+14} ${o.height+4}">
      ${p}${a}
      ${u?v`<g class="substation"><rect x="-12" y=${u.y-8} width="16" height="16" rx="3"></rect>
            <title>${e.substation.name||t.substation}</title></g>`:f}
      ${l}
    </svg>`}_inlet(t,e,s){let o=s.inlets[e.id],n=o?o.state:"no_data",r=(d,h,_=0)=>d==null?"\u2013":`${d.toFixed(_)}${h}`,p=o?`${r(o.flow_dev,"%")}  ${r(o.return_c,"\xB0C",1)}  ${r(o.opening,"%")}`:"",a=e.households,u=this._expanded.has(e.id),l=u?a.map((d,h)=>{let _=s.households[d]||(s.inlets[d]?s.inlets[d].state:"no_data"),y=e.x+12+h%30*11,g=e.y+22/2+Math.floor(h/30)*11;return v`<rect class="household" data-household=${d} data-state=${_} x=${y} y=${g}
            width=${9} height=${9} fill=${N[_]}><title>${d}: ${t[_]}</title></rect>`}):f,c=a.length?v`<g class="toggle" data-toggle=${e.id} @click=${()=>this._toggle(e.id)}>
          <rect x=${e.x+200} y=${e.y-8} width="40" height="16" rx="8"></rect>
          <text x=${e.x+220} y=${e.y+4} text-anchor="middle">${u?"\u2212":"+"}${a.length}</text>
          <title>${u?t.collapse:t.expand} (${a.length} ${t.households})</title></g>`:f;return v`<g class="inlet" data-inlet=${e.id} data-state=${n} @click=${()=>this._open(e.id)}>
        <circle cx=${e.x} cy=${e.y} r="7" fill=${N[n]}></circle>
        <text x=${e.x+12} y=${e.y+4} class="name">${e.name}</text>
        <text x=${e.x+86} y=${e.y+4} class="values">${p}</text>
        <title>${e.name}: ${t[n]}</title>
      </g>${c}${l}`}_toggle(t){let e=new Set(this._expanded);e.has(t)?e.delete(t):e.add(t),this._expanded=e}_gradient(t){let{topology:e,live:s}=this._view,o=e.inlets.filter(n=>s.inlets[n.id]&&s.inlets[n.id].dp_kpa!==null&&Number.isFinite(n.dist_m)).map(n=>[n.dist_m,s.inlets[n.id].dp_kpa]).sort((n,r)=>n[0]-r[0]);return B({name:"gradient",series:[{label:"\u0394P (kPa)",color:"var(--primary-color)",points:o,dots:!0}],xLabel:t.distance,empty:t.no_points})}_charts(t){let e=this._view.history,s=e.length?e[0].t:0,o=p=>(p.t-s)/3600,n=(p,a,u,l=1)=>({label:a,color:u,points:e.map(c=>[o(c),c[p]===null?null:c[p]*l])}),r=`${t.cycle} (h)`;return $`
      <h3>${t.share_chart}</h3>
      ${B({name:"share",series:[n("share",t.share_in_band,"var(--success-color, #43a047)")],fixed:[0,100],xLabel:r,empty:t.no_points})}
      <h3>${t.pump_chart}</h3>
      ${B({name:"pump",series:[n("head_m",t.head,"var(--primary-color)"),n("power_w",t.power,"var(--accent-color, #ff9800)",.001)],xLabel:r,empty:t.no_points})}
      <h3>${t.forecast_chart}</h3>
      ${B({name:"forecast",series:[n("forecast_kw",t.forecast,"var(--accent-color, #ff9800)"),n("heat_kw",t.actual,"var(--primary-color)")],xLabel:r,empty:t.no_points})}
    `}_table(t){let{topology:e,live:s}=this._view,[o,n]=this._sort,r=new Map(e.inlets.map(l=>[l.id,l.name])),p=Object.entries(s.inlets).map(([l,c])=>({id:l,name:r.get(l)||l,...c})),a=l=>o==="state"?pt.indexOf(l.state):l[o];p.sort((l,c)=>{let d=a(l),h=a(c);return d===h?l.name.localeCompare(c.name):d==null?1:h==null?-1:(d<h?-1:1)*n});let u=l=>l??"\u2013";return $`<div class="scroll-x"><table>
      <thead><tr>
        ${te.map(([l,c])=>$`<th data-sort=${l} class=${l===o?n>0?"asc":"desc":""}
            @click=${()=>this._sort=[l,l===o?-n:1]}>${t[c]}</th>`)}
      </tr></thead>
      <tbody>
        ${p.map(l=>$`<tr data-row=${l.id}>
            <td><a href=${this._deviceUrl(l.id)} @click=${c=>this._open(l.id,c)}>${l.name}</a></td>
            <td><i class="dot" style="background:${N[l.state]}"></i>${t[l.state]}</td>
            <td>${u(l.flow_dev)}</td>
            <td>${u(l.return_c)}</td>
            <td>${u(l.opening)}</td>
            <td>${u(l.dp_kpa)}</td>
            <td>${l.alarms}</td>
            <td>${u(l.quality)}</td>
          </tr>`)}
      </tbody>
    </table></div>`}_deviceUrl(t){let e=this._view.devices[t];return e&&this._view.admin?`/config/devices/device/${e.device_id}`:"#"}_open(t,e){e&&e.preventDefault();let s=this._view.devices[t];s&&(this._view.admin?(history.pushState(null,"",`/config/devices/device/${s.device_id}`),this.dispatchEvent(new CustomEvent("location-changed",{bubbles:!0,composed:!0}))):s.entity_id&&this.dispatchEvent(new CustomEvent("hass-more-info",{bubbles:!0,composed:!0,detail:{entityId:s.entity_id}})))}_toggleMenu(){this.dispatchEvent(new CustomEvent("hass-toggle-menu",{bubbles:!0,composed:!0}))}};Z(V,"properties",{hass:{attribute:!1},narrow:{type:Boolean},panel:{attribute:!1},_networks:{state:!0},_entry:{state:!0},_view:{state:!0},_expanded:{state:!0},_sort:{state:!0},_message:{state:!0}}),Z(V,"styles",X`
    :host {
      display: block;
      min-height: 100vh;
      background: var(--primary-background-color);
      color: var(--primary-text-color);
      font-family: var(--paper-font-body1_-_font-family, Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif);
    }
    .toolbar {
      display: flex;
      align-items: center;
      gap: 12px;
      height: var(--header-height, 56px);
      padding: 0 16px;
      background: var(--app-header-background-color, var(--primary-color));
      color: var(--app-header-text-color, var(--text-primary-color, #fff));
      position: sticky;
      top: 0;
      z-index: 2;
    }
    .title { font-size: 20px; flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
    .menu { background: none; border: 0; padding: 8px; margin-left: -8px; color: inherit; cursor: pointer; }
    .menu svg { width: 24px; height: 24px; fill: currentColor; display: block; }
    .networks { font: inherit; padding: 4px; border-radius: 4px; max-width: 50vw; }
    .content { padding: 8px; display: flex; flex-direction: column; gap: 8px; }
    ha-card {
      display: block;
      background: var(--ha-card-background, var(--card-background-color, #fff));
      border-radius: var(--ha-card-border-radius, 12px);
      border: var(--ha-card-border-width, 1px) solid var(--ha-card-border-color, var(--divider-color, #e0e0e0));
      padding: 8px 12px;
      box-sizing: border-box;
      min-width: 0;
    }
    .pad { padding: 16px; }
    h2 { font-size: 16px; font-weight: 500; margin: 4px 0 8px; }
    h3 { font-size: 13px; font-weight: 400; margin: 8px 0 2px; color: var(--secondary-text-color); }
    .summary { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: center; }
    .tile { display: flex; flex-direction: column; }
    .tile span { font-size: 12px; color: var(--secondary-text-color); }
    .tile b { font-size: 18px; font-weight: 500; }
    .state-balanced b { color: var(--success-color, #43a047); }
    .state-not_balanced b, .state-disturbed b { color: var(--error-color, #db4437); }
    .actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
    .actions button {
      font: inherit; font-size: 13px; padding: 6px 12px; border-radius: 18px; cursor: pointer;
      border: 1px solid var(--primary-color); background: none; color: var(--primary-color);
    }
    .actions button[disabled] { opacity: 0.4; cursor: default; }
    .message { font-size: 12px; color: var(--secondary-text-color); }
    .counts, .legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; }
    .counts i, .legend i, figcaption i, .dot {
      display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px;
    }
    .columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); gap: 8px; align-items: start; }
    :host([narrow]) .columns { grid-template-columns: minmax(0, 1fr); }
    @media (max-width: 900px) { .columns { grid-template-columns: minmax(0, 1fr); } }
    .side { display: flex; flex-direction: column; gap: 8px; min-width: 0; }
    .scroll { overflow: auto; max-height: 70vh; }
    .scroll-x { overflow: auto; max-height: 60vh; }
    thead th { position: sticky; top: 0; background: var(--ha-card-background, var(--card-background-color, #fff)); }
    svg.graph { display: block; font-size: 11px; }
    .pipe { fill: none; stroke: var(--secondary-text-color); stroke-width: 1.4; opacity: 0.7; }
    .loop { fill: none; stroke: var(--secondary-text-color); stroke-width: 1.2; stroke-dasharray: 4 3; }
    .substation rect { fill: var(--primary-color); }
    .inlet { cursor: pointer; }
    .inlet text { fill: var(--primary-text-color); }
    .inlet .values { fill: var(--secondary-text-color); font-variant-numeric: tabular-nums; }
    .inlet:hover circle { stroke: var(--primary-text-color); stroke-width: 2; }
    .toggle { cursor: pointer; }
    .toggle rect { fill: var(--secondary-background-color, #eee); stroke: var(--divider-color); }
    .toggle text { fill: var(--primary-text-color); font-size: 11px; }
    .chart { margin: 0; }
    .chart svg { width: 100%; height: 120px; display: block; }
    .chart .axis { stroke: var(--divider-color, #ccc); }
    .chart .tick { fill: var(--secondary-text-color); font-size: 9px; }
    figcaption { display: flex; gap: 12px; font-size: 12px; color: var(--secondary-text-color); }
    .chart-empty { font-size: 12px; color: var(--secondary-text-color); padding: 8px 0; }
    table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
    th, td { padding: 4px 8px; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--divider-color, #e0e0e0); }
    th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
    th { cursor: pointer; user-select: none; font-weight: 500; color: var(--secondary-text-color); }
    th.asc::after { content: " ▲"; }
    th.desc::after { content: " ▼"; }
    a { color: var(--primary-color); text-decoration: none; }
  `);customElements.get("heatbalance-panel")||customElements.define("heatbalance-panel",V);
