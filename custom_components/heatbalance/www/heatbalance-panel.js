var Wt=Object.defineProperty;var jt=(a,t,e)=>t in a?Wt(a,t,{enumerable:!0,configurable:!0,writable:!0,value:e}):a[t]=e;var G=(a,t,e)=>jt(a,typeof t!="symbol"?t+"":t,e);var q=globalThis,K=q.ShadowRoot&&(q.ShadyCSS===void 0||q.ShadyCSS.nativeShadow)&&"adoptedStyleSheets"in Document.prototype&&"replace"in CSSStyleSheet.prototype,X=Symbol(),$t=new WeakMap,L=class{constructor(t,e,s){if(this._$cssResult$=!0,s!==X)throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");this.cssText=t,this.t=e}get styleSheet(){let t=this.o,e=this.t;if(K&&t===void 0){let s=e!==void 0&&e.length===1;s&&(t=$t.get(e)),t===void 0&&((this.o=t=new CSSStyleSheet).replaceSync(this.cssText),s&&$t.set(e,t))}return t}toString(){return this.cssText}},ft=a=>new L(typeof a=="string"?a:a+"",void 0,X),Y=(a,...t)=>{let e=a.length===1?a[0]:t.reduce((s,i,n)=>s+(o=>{if(o._$cssResult$===!0)return o.cssText;if(typeof o=="number")return o;throw Error("Value passed to 'css' function must be a 'css' function result: "+o+". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.")})(i)+a[n+1],a[0]);return new L(e,a,X)},gt=(a,t)=>{if(K)a.adoptedStyleSheets=t.map(e=>e instanceof CSSStyleSheet?e:e.styleSheet);else for(let e of t){let s=document.createElement("style"),i=q.litNonce;i!==void 0&&s.setAttribute("nonce",i),s.textContent=e.cssText,a.appendChild(s)}},tt=K?a=>a:a=>a instanceof CSSStyleSheet?(t=>{let e="";for(let s of t.cssRules)e+=s.cssText;return ft(e)})(a):a;var{is:Ft,defineProperty:It,getOwnPropertyDescriptor:Vt,getOwnPropertyNames:Bt,getOwnPropertySymbols:qt,getPrototypeOf:Kt}=Object,Q=globalThis,vt=Q.trustedTypes,Qt=vt?vt.emptyScript:"",Jt=Q.reactiveElementPolyfillSupport,z=(a,t)=>a,et={toAttribute(a,t){switch(t){case Boolean:a=a?Qt:null;break;case Object:case Array:a=a==null?a:JSON.stringify(a)}return a},fromAttribute(a,t){let e=a;switch(t){case Boolean:e=a!==null;break;case Number:e=a===null?null:Number(a);break;case Object:case Array:try{e=JSON.parse(a)}catch{e=null}}return e}},yt=(a,t)=>!Ft(a,t),bt={attribute:!0,type:String,converter:et,reflect:!1,useDefault:!1,hasChanged:yt};Symbol.metadata??=Symbol("metadata"),Q.litPropertyMetadata??=new WeakMap;var A=class extends HTMLElement{static addInitializer(t){this._$Ei(),(this.l??=[]).push(t)}static get observedAttributes(){return this.finalize(),this._$Eh&&[...this._$Eh.keys()]}static createProperty(t,e=bt){if(e.state&&(e.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(t)&&((e=Object.create(e)).wrapped=!0),this.elementProperties.set(t,e),!e.noAccessor){let s=Symbol(),i=this.getPropertyDescriptor(t,s,e);i!==void 0&&It(this.prototype,t,i)}}static getPropertyDescriptor(t,e,s){let{get:i,set:n}=Vt(this.prototype,t)??{get(){return this[e]},set(o){this[e]=o}};return{get:i,set(o){let l=i?.call(this);n?.call(this,o),this.requestUpdate(t,l,s)},configurable:!0,enumerable:!0}}static getPropertyOptions(t){return this.elementProperties.get(t)??bt}static _$Ei(){if(this.hasOwnProperty(z("elementProperties")))return;let t=Kt(this);t.finalize(),t.l!==void 0&&(this.l=[...t.l]),this.elementProperties=new Map(t.elementProperties)}static finalize(){if(this.hasOwnProperty(z("finalized")))return;if(this.finalized=!0,this._$Ei(),this.hasOwnProperty(z("properties"))){let e=this.properties,s=[...Bt(e),...qt(e)];for(let i of s)this.createProperty(i,e[i])}let t=this[Symbol.metadata];if(t!==null){let e=litPropertyMetadata.get(t);if(e!==void 0)for(let[s,i]of e)this.elementProperties.set(s,i)}this._$Eh=new Map;for(let[e,s]of this.elementProperties){let i=this._$Eu(e,s);i!==void 0&&this._$Eh.set(i,e)}this.elementStyles=this.finalizeStyles(this.styles)}static finalizeStyles(t){let e=[];if(Array.isArray(t)){let s=new Set(t.flat(1/0).reverse());for(let i of s)e.unshift(tt(i))}else t!==void 0&&e.push(tt(t));return e}static _$Eu(t,e){let s=e.attribute;return s===!1?void 0:typeof s=="string"?s:typeof t=="string"?t.toLowerCase():void 0}constructor(){super(),this._$Ep=void 0,this.isUpdatePending=!1,this.hasUpdated=!1,this._$Em=null,this._$Ev()}_$Ev(){this._$ES=new Promise(t=>this.enableUpdating=t),this._$AL=new Map,this._$E_(),this.requestUpdate(),this.constructor.l?.forEach(t=>t(this))}addController(t){(this._$EO??=new Set).add(t),this.renderRoot!==void 0&&this.isConnected&&t.hostConnected?.()}removeController(t){this._$EO?.delete(t)}_$E_(){let t=new Map,e=this.constructor.elementProperties;for(let s of e.keys())this.hasOwnProperty(s)&&(t.set(s,this[s]),delete this[s]);t.size>0&&(this._$Ep=t)}createRenderRoot(){let t=this.shadowRoot??this.attachShadow(this.constructor.shadowRootOptions);return gt(t,this.constructor.elementStyles),t}connectedCallback(){this.renderRoot??=this.createRenderRoot(),this.enableUpdating(!0),this._$EO?.forEach(t=>t.hostConnected?.())}enableUpdating(t){}disconnectedCallback(){this._$EO?.forEach(t=>t.hostDisconnected?.())}attributeChangedCallback(t,e,s){this._$AK(t,s)}_$ET(t,e){let s=this.constructor.elementProperties.get(t),i=this.constructor._$Eu(t,s);if(i!==void 0&&s.reflect===!0){let n=(s.converter?.toAttribute!==void 0?s.converter:et).toAttribute(e,s.type);this._$Em=t,n==null?this.removeAttribute(i):this.setAttribute(i,n),this._$Em=null}}_$AK(t,e){let s=this.constructor,i=s._$Eh.get(t);if(i!==void 0&&this._$Em!==i){let n=s.getPropertyOptions(i),o=typeof n.converter=="function"?{fromAttribute:n.converter}:n.converter?.fromAttribute!==void 0?n.converter:et;this._$Em=i;let l=o.fromAttribute(e,n.type);this[i]=l??this._$Ej?.get(i)??l,this._$Em=null}}requestUpdate(t,e,s,i=!1,n){if(t!==void 0){let o=this.constructor;if(i===!1&&(n=this[t]),s??=o.getPropertyOptions(t),!((s.hasChanged??yt)(n,e)||s.useDefault&&s.reflect&&n===this._$Ej?.get(t)&&!this.hasAttribute(o._$Eu(t,s))))return;this.C(t,e,s)}this.isUpdatePending===!1&&(this._$ES=this._$EP())}C(t,e,{useDefault:s,reflect:i,wrapped:n},o){s&&!(this._$Ej??=new Map).has(t)&&(this._$Ej.set(t,o??e??this[t]),n!==!0||o!==void 0)||(this._$AL.has(t)||(this.hasUpdated||s||(e=void 0),this._$AL.set(t,e)),i===!0&&this._$Em!==t&&(this._$Eq??=new Set).add(t))}async _$EP(){this.isUpdatePending=!0;try{await this._$ES}catch(e){Promise.reject(e)}let t=this.scheduleUpdate();return t!=null&&await t,!this.isUpdatePending}scheduleUpdate(){return this.performUpdate()}performUpdate(){if(!this.isUpdatePending)return;if(!this.hasUpdated){if(this.renderRoot??=this.createRenderRoot(),this._$Ep){for(let[i,n]of this._$Ep)this[i]=n;this._$Ep=void 0}let s=this.constructor.elementProperties;if(s.size>0)for(let[i,n]of s){let{wrapped:o}=n,l=this[i];o!==!0||this._$AL.has(i)||l===void 0||this.C(i,void 0,n,l)}}let t=!1,e=this._$AL;try{t=this.shouldUpdate(e),t?(this.willUpdate(e),this._$EO?.forEach(s=>s.hostUpdate?.()),this.update(e)):this._$EM()}catch(s){throw t=!1,this._$EM(),s}t&&this._$AE(e)}willUpdate(t){}_$AE(t){this._$EO?.forEach(e=>e.hostUpdated?.()),this.hasUpdated||(this.hasUpdated=!0,this.firstUpdated(t)),this.updated(t)}_$EM(){this._$AL=new Map,this.isUpdatePending=!1}get updateComplete(){return this.getUpdateComplete()}getUpdateComplete(){return this._$ES}shouldUpdate(t){return!0}update(t){this._$Eq&&=this._$Eq.forEach(e=>this._$ET(e,this[e])),this._$EM()}updated(t){}firstUpdated(t){}};A.elementStyles=[],A.shadowRootOptions={mode:"open"},A[z("elementProperties")]=new Map,A[z("finalized")]=new Map,Jt?.({ReactiveElement:A}),(Q.reactiveElementVersions??=[]).push("2.1.2");var lt=globalThis,wt=a=>a,J=lt.trustedTypes,xt=J?J.createPolicy("lit-html",{createHTML:a=>a}):void 0,Mt="$lit$",S=`lit$${Math.random().toFixed(9).slice(2)}$`,Pt="?"+S,Zt=`<${Pt}>`,P=document,W=()=>P.createComment(""),j=a=>a===null||typeof a!="object"&&typeof a!="function",ct=Array.isArray,Gt=a=>ct(a)||typeof a?.[Symbol.iterator]=="function",st=`[ 	
\f\r]`,D=/<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g,At=/-->/g,St=/>/g,C=RegExp(`>|${st}(?:([^\\s"'>=/]+)(${st}*=${st}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`,"g"),kt=/'/g,Et=/"/g,Ot=/^(?:script|style|textarea|title)$/i,ht=a=>(t,...e)=>({_$litType$:a,strings:t,values:e}),$=ht(1),w=ht(2),de=ht(3),O=Symbol.for("lit-noChange"),f=Symbol.for("lit-nothing"),Ct=new WeakMap,M=P.createTreeWalker(P,129);function Nt(a,t){if(!ct(a)||!a.hasOwnProperty("raw"))throw Error("invalid template strings array");return xt!==void 0?xt.createHTML(t):t}var Xt=(a,t)=>{let e=a.length-1,s=[],i,n=t===2?"<svg>":t===3?"<math>":"",o=D;for(let l=0;l<e;l++){let c=a[l],p,_,r=-1,u=0;for(;u<c.length&&(o.lastIndex=u,_=o.exec(c),_!==null);)u=o.lastIndex,o===D?_[1]==="!--"?o=At:_[1]!==void 0?o=St:_[2]!==void 0?(Ot.test(_[2])&&(i=RegExp("</"+_[2],"g")),o=C):_[3]!==void 0&&(o=C):o===C?_[0]===">"?(o=i??D,r=-1):_[1]===void 0?r=-2:(r=o.lastIndex-_[2].length,p=_[1],o=_[3]===void 0?C:_[3]==='"'?Et:kt):o===Et||o===kt?o=C:o===At||o===St?o=D:(o=C,i=void 0);let h=o===C&&a[l+1].startsWith("/>")?" ":"";n+=o===D?c+Zt:r>=0?(s.push(p),c.slice(0,r)+Mt+c.slice(r)+S+h):c+S+(r===-2?l:h)}return[Nt(a,n+(a[e]||"<?>")+(t===2?"</svg>":t===3?"</math>":"")),s]},F=class a{constructor({strings:t,_$litType$:e},s){let i;this.parts=[];let n=0,o=0,l=t.length-1,c=this.parts,[p,_]=Xt(t,e);if(this.el=a.createElement(p,s),M.currentNode=this.el.content,e===2||e===3){let r=this.el.content.firstChild;r.replaceWith(...r.childNodes)}for(;(i=M.nextNode())!==null&&c.length<l;){if(i.nodeType===1){if(i.hasAttributes())for(let r of i.getAttributeNames())if(r.endsWith(Mt)){let u=_[o++],h=i.getAttribute(r).split(S),d=/([.?@])?(.*)/.exec(u);c.push({type:1,index:n,name:d[2],strings:h,ctor:d[1]==="."?ot:d[1]==="?"?at:d[1]==="@"?nt:R}),i.removeAttribute(r)}else r.startsWith(S)&&(c.push({type:6,index:n}),i.removeAttribute(r));if(Ot.test(i.tagName)){let r=i.textContent.split(S),u=r.length-1;if(u>0){i.textContent=J?J.emptyScript:"";for(let h=0;h<u;h++)i.append(r[h],W()),M.nextNode(),c.push({type:2,index:++n});i.append(r[u],W())}}}else if(i.nodeType===8)if(i.data===Pt)c.push({type:2,index:n});else{let r=-1;for(;(r=i.data.indexOf(S,r+1))!==-1;)c.push({type:7,index:n}),r+=S.length-1}n++}}static createElement(t,e){let s=P.createElement("template");return s.innerHTML=t,s}};function U(a,t,e=a,s){if(t===O)return t;let i=s!==void 0?e._$Co?.[s]:e._$Cl,n=j(t)?void 0:t._$litDirective$;return i?.constructor!==n&&(i?._$AO?.(!1),n===void 0?i=void 0:(i=new n(a),i._$AT(a,e,s)),s!==void 0?(e._$Co??=[])[s]=i:e._$Cl=i),i!==void 0&&(t=U(a,i._$AS(a,t.values),i,s)),t}var it=class{constructor(t,e){this._$AV=[],this._$AN=void 0,this._$AD=t,this._$AM=e}get parentNode(){return this._$AM.parentNode}get _$AU(){return this._$AM._$AU}u(t){let{el:{content:e},parts:s}=this._$AD,i=(t?.creationScope??P).importNode(e,!0);M.currentNode=i;let n=M.nextNode(),o=0,l=0,c=s[0];for(;c!==void 0;){if(o===c.index){let p;c.type===2?p=new I(n,n.nextSibling,this,t):c.type===1?p=new c.ctor(n,c.name,c.strings,this,t):c.type===6&&(p=new rt(n,this,t)),this._$AV.push(p),c=s[++l]}o!==c?.index&&(n=M.nextNode(),o++)}return M.currentNode=P,i}p(t){let e=0;for(let s of this._$AV)s!==void 0&&(s.strings!==void 0?(s._$AI(t,s,e),e+=s.strings.length-2):s._$AI(t[e])),e++}},I=class a{get _$AU(){return this._$AM?._$AU??this._$Cv}constructor(t,e,s,i){this.type=2,this._$AH=f,this._$AN=void 0,this._$AA=t,this._$AB=e,this._$AM=s,this.options=i,this._$Cv=i?.isConnected??!0}get parentNode(){let t=this._$AA.parentNode,e=this._$AM;return e!==void 0&&t?.nodeType===11&&(t=e.parentNode),t}get startNode(){return this._$AA}get endNode(){return this._$AB}_$AI(t,e=this){t=U(this,t,e),j(t)?t===f||t==null||t===""?(this._$AH!==f&&this._$AR(),this._$AH=f):t!==this._$AH&&t!==O&&this._(t):t._$litType$!==void 0?this.$(t):t.nodeType!==void 0?this.T(t):Gt(t)?this.k(t):this._(t)}O(t){return this._$AA.parentNode.insertBefore(t,this._$AB)}T(t){this._$AH!==t&&(this._$AR(),this._$AH=this.O(t))}_(t){this._$AH!==f&&j(this._$AH)?this._$AA.nextSibling.data=t:this.T(P.createTextNode(t)),this._$AH=t}$(t){let{values:e,_$litType$:s}=t,i=typeof s=="number"?this._$AC(t):(s.el===void 0&&(s.el=F.createElement(Nt(s.h,s.h[0]),this.options)),s);if(this._$AH?._$AD===i)this._$AH.p(e);else{let n=new it(i,this),o=n.u(this.options);n.p(e),this.T(o),this._$AH=n}}_$AC(t){let e=Ct.get(t.strings);return e===void 0&&Ct.set(t.strings,e=new F(t)),e}k(t){ct(this._$AH)||(this._$AH=[],this._$AR());let e=this._$AH,s,i=0;for(let n of t)i===e.length?e.push(s=new a(this.O(W()),this.O(W()),this,this.options)):s=e[i],s._$AI(n),i++;i<e.length&&(this._$AR(s&&s._$AB.nextSibling,i),e.length=i)}_$AR(t=this._$AA.nextSibling,e){for(this._$AP?.(!1,!0,e);t!==this._$AB;){let s=wt(t).nextSibling;wt(t).remove(),t=s}}setConnected(t){this._$AM===void 0&&(this._$Cv=t,this._$AP?.(t))}},R=class{get tagName(){return this.element.tagName}get _$AU(){return this._$AM._$AU}constructor(t,e,s,i,n){this.type=1,this._$AH=f,this._$AN=void 0,this.element=t,this.name=e,this._$AM=i,this.options=n,s.length>2||s[0]!==""||s[1]!==""?(this._$AH=Array(s.length-1).fill(new String),this.strings=s):this._$AH=f}_$AI(t,e=this,s,i){let n=this.strings,o=!1;if(n===void 0)t=U(this,t,e,0),o=!j(t)||t!==this._$AH&&t!==O,o&&(this._$AH=t);else{let l=t,c,p;for(t=n[0],c=0;c<n.length-1;c++)p=U(this,l[s+c],e,c),p===O&&(p=this._$AH[c]),o||=!j(p)||p!==this._$AH[c],p===f?t=f:t!==f&&(t+=(p??"")+n[c+1]),this._$AH[c]=p}o&&!i&&this.j(t)}j(t){t===f?this.element.removeAttribute(this.name):this.element.setAttribute(this.name,t??"")}},ot=class extends R{constructor(){super(...arguments),this.type=3}j(t){this.element[this.name]=t===f?void 0:t}},at=class extends R{constructor(){super(...arguments),this.type=4}j(t){this.element.toggleAttribute(this.name,!!t&&t!==f)}},nt=class extends R{constructor(t,e,s,i,n){super(t,e,s,i,n),this.type=5}_$AI(t,e=this){if((t=U(this,t,e,0)??f)===O)return;let s=this._$AH,i=t===f&&s!==f||t.capture!==s.capture||t.once!==s.once||t.passive!==s.passive,n=t!==f&&(s===f||i);i&&this.element.removeEventListener(this.name,this,s),n&&this.element.addEventListener(this.name,this,t),this._$AH=t}handleEvent(t){typeof this._$AH=="function"?this._$AH.call(this.options?.host??this.element,t):this._$AH.handleEvent(t)}},rt=class{constructor(t,e,s){this.element=t,this.type=6,this._$AN=void 0,this._$AM=e,this.options=s}get _$AU(){return this._$AM._$AU}_$AI(t){U(this,t)}};var Yt=lt.litHtmlPolyfillSupport;Yt?.(F,I),(lt.litHtmlVersions??=[]).push("3.3.3");var Ut=(a,t,e)=>{let s=e?.renderBefore??t,i=s._$litPart$;if(i===void 0){let n=e?.renderBefore??null;s._$litPart$=i=new I(t.insertBefore(W(),n),n,void 0,e??{})}return i._$AI(a),i};var dt=globalThis,k=class extends A{constructor(){super(...arguments),this.renderOptions={host:this},this._$Do=void 0}createRenderRoot(){let t=super.createRenderRoot();return this.renderOptions.renderBefore??=t.firstChild,t}update(t){let e=this.render();this.hasUpdated||(this.renderOptions.isConnected=this.isConnected),super.update(t),this._$Do=Ut(e,this.renderRoot,this.renderOptions)}connectedCallback(){super.connectedCallback(),this._$Do?.setConnected(!0)}disconnectedCallback(){super.disconnectedCallback(),this._$Do?.setConnected(!1)}render(){return O}};k._$litElement$=!0,k.finalized=!0,dt.litElementHydrateSupport?.({LitElement:k});var te=dt.litElementPolyfillSupport;te?.({LitElement:k});(dt.litElementVersions??=[]).push("4.2.2");function Rt(a,t){let e=new Map,s=new Map;for(let[h,d]of a.nodes)s.set(h,d),d!==null&&(e.has(d)||e.set(d,[]),e.get(d).push(h));let i=new Map;for(let h of a.inlets)i.has(h.node)||i.set(h.node,[]),i.get(h.node).push(h);let n=new Map,o=h=>{if(n.has(h))return n.get(h);n.set(h,!1);let d=i.has(h)||(e.get(h)||[]).some(m=>o(m));return n.set(h,d),d},l=a.substation.node,c=new Map,p=new Map,_=22/2,r=0,u=(h,d,m)=>{let g=(e.get(h)||[]).filter(o),b=i.get(h)||[];for(;h!==l&&g.length===1&&b.length===0&&!i.has(g[0])&&(e.get(g[0])||[]).filter(o).length>0;)c.set(h,{x:d*26,y:null,parent:m,folded:g[0]}),h=g[0],g=(e.get(h)||[]).filter(o);let x=[];for(let N of b){let Dt=(t.has(N.id)?Math.ceil(N.households.length/30):0)*11;p.set(N.id,{...N,x:(d+1)*26,y:_,parent:h}),r=Math.max(r,d+1),x.push(_),_+=22+Dt}for(let N of g)x.push(u(N,d+1,h));let y=x.length?(x[0]+x[x.length-1])/2:_;return c.set(h,{x:d*26,y,parent:m}),r=Math.max(r,d),y};u(l,0,null);for(let[h,d]of c)if(d.y===null){let m=d.folded;for(;c.get(m)&&c.get(m).y===null;)m=c.get(m).folded;d.y=c.get(m)?c.get(m).y:0}return{nodes:c,inlets:p,width:(r+1)*26,height:_}}var Z=320,E=120,v={left:34,right:8,top:8,bottom:18};function Ht(a){let t=a.filter(i=>i!=null&&Number.isFinite(i));if(!t.length)return null;let e=Math.min(...t),s=Math.max(...t);return s-e<1e-9&&(e-=1,s+=1),[e,s]}function Tt(a){let t=Math.abs(a);return t>=100?a.toFixed(0):t>=10?a.toFixed(1):a.toFixed(2)}function H({series:a,fixed:t=null,xLabel:e="",empty:s="",name:i=""}){let n=a.flatMap(u=>u.points.map(h=>h[0])),o=a.flatMap(u=>u.points.map(h=>h[1])),l=Ht(n),c=t||Ht(o);if(!l||!c)return $`<div class="chart-empty" data-chart=${i}>${s}</div>`;let p=u=>v.left+(u-l[0])/(l[1]-l[0]||1)*(Z-v.left-v.right),_=u=>E-v.bottom-(u-c[0])/(c[1]-c[0])*(E-v.top-v.bottom),r=a.map(u=>{let h=y=>y[1]!==null&&y[1]!==void 0&&Number.isFinite(y[1]),d=u.points.filter(h),m="",g=!1;for(let y of u.points){if(!h(y)){g=!1;continue}m+=`${g?"L":"M"}${p(y[0]).toFixed(1)},${_(y[1]).toFixed(1)}`,g=!0}let b=u.dots||d.length===1?d.map(y=>w`<circle cx=${p(y[0])} cy=${_(y[1])} r="2.5" fill=${u.color}></circle>`):[],x=u.dashed?"4 3":"none";return w`<path d=${m} fill="none" stroke=${u.color} stroke-width="1.6" stroke-dasharray=${x} data-series=${u.key||""}></path>${b}`});return $`<figure class="chart" data-chart=${i} data-points=${o.length}>
    <svg viewBox="0 0 ${Z} ${E}" role="img" preserveAspectRatio="none">
      <line x1=${v.left} y1=${E-v.bottom} x2=${Z-v.right} y2=${E-v.bottom} class="axis"></line>
      <line x1=${v.left} y1=${v.top} x2=${v.left} y2=${E-v.bottom} class="axis"></line>
      <text x=${v.left-3} y=${v.top+8} class="tick" text-anchor="end">${Tt(c[1])}</text>
      <text x=${v.left-3} y=${E-v.bottom} class="tick" text-anchor="end">${Tt(c[0])}</text>
      <text x=${Z-v.right} y=${E-4} class="tick" text-anchor="end">${e}</text>
      ${r}
    </svg>
    <figcaption>${a.filter(u=>!u.optional||u.points.some(h=>h[1]!==null&&h[1]!==void 0)).map(u=>$`<span><i style="background:${u.color}"></i>${u.label}</span>`)}</figcaption>
  </figure>`}var Lt={en:{title:"Heat network",network:"Network",no_networks:"No heatbalance network is running.",loading:"Loading the network\u2026",balance_state:"Balance state",share_in_band:"In band",supply:"Supply",return:"Return",outdoor:"Outdoor",alarms:"Alarms",mode:"Mode",auto:"automatic",manual_mode:"manual",topology:"Topology",table:"Inlets",charts:"Over time",gradient:"Available \u0394P along the main",share_chart:"Share of inlets in band (%)",pump_chart:"Pump head (m) and power (kW)",forecast_chart:"Heat load: forecast and actual (kW)",head:"head",power:"power",forecast:"forecast",actual:"actual",distance:"distance from the substation (m)",name:"Inlet",state:"State",flow_dev:"Flow dev. (%)",return_c:"Return (\xB0C)",opening:"Valve (%)",dp:"\u0394P (kPa)",quality:"Data (%)",households:"households",expand:"show households",collapse:"hide households",substation:"Substation",cycle:"plant time",balancing:"balancing",balanced:"balanced",disturbed:"disturbed",not_balanced:"not balanced",in_band:"in band",short:"short",over:"over",no_data:"no data",fault:"fault",manual:"manual",loop:"loop",no_points:"Waiting for the first cycle\u2026",balance_now:"Balance now",acknowledge:"Acknowledge alarms",proposal:"Manual proposal: nothing moves until you confirm",proposed_pump:"Pump speed (proposed)",proposed_valves:"Valves that would move",proposed_opening:"Proposed (%)",not_proposed:"not proposed",no_valve_moves:"No valve moves in this proposal.",confirm:"Confirm proposal",done:"Done.",archive:"Archive history",archive_inlet:"Inlet",archive_network:"Whole network",archive_signal:"Signal",archive_from:"From",archive_to:"To",archive_show:"Show",archive_empty:"No archived cycles in this range.",archive_rows:"cycles",archive_truncated:"cut at 50,000",archive_latest:"table: the latest",archive_time:"Time",archive_quality:"Quality",archive_hours:"hours since",flagged:"flagged",estimated:"estimated",estimated_legend:"\u2248 estimated, not measured",estimated_tip:"Estimated by the engine, not measured: a lost reading predicted, a valve without position feedback assumed where it was sent, \u0394P from the network model where no pressure transmitter is mapped, or a real plant's substation figures from the network model.",rejected_tip:"Reading rejected by the engine's data cleaning or meter checks (out of range, frozen, dead meter, swapped sensors): not shown, not used; the value and the reason are in the sensor's attributes and the diagnostics.",signals:{supply_c:"Supply (\xB0C)",return_c:"Return (\xB0C)",flow_m3h:"Flow (m\xB3/h)",room_c:"Room (\xB0C)",opening:"Valve feedback (0\u20131)",dp_kpa:"Available \u0394P (kPa)",heat_kw:"Heat (kW)",setpoint:"Set value",actual:"Actual value",deviation:"Deviation",flow_deviation:"Flow deviation (%)",command:"Valve command (0\u20131)",in_band:"In band (1/0)",share_in_band:"Share in band (%)",spread:"Spread",outdoor_c:"Outdoor (\xB0C)",pump_flow_m3h:"Pump flow (m\xB3/h)",pump_power_w:"Pump power (W)",forecast_kw:"Forecast heat (kW)",balanced:"Balanced (1/0)"}},"zh-Hans":{title:"\u70ED\u7F51\u5E73\u8861",network:"\u7BA1\u7F51",no_networks:"\u6CA1\u6709\u6B63\u5728\u8FD0\u884C\u7684 heatbalance \u7BA1\u7F51\u3002",loading:"\u6B63\u5728\u52A0\u8F7D\u7BA1\u7F51\u2026",balance_state:"\u5E73\u8861\u72B6\u6001",share_in_band:"\u8FBE\u6807\u6BD4\u4F8B",supply:"\u4F9B\u6C34",return:"\u56DE\u6C34",outdoor:"\u5BA4\u5916",alarms:"\u62A5\u8B66",mode:"\u6A21\u5F0F",auto:"\u81EA\u52A8",manual_mode:"\u624B\u52A8",topology:"\u7BA1\u7F51\u62D3\u6251",table:"\u70ED\u529B\u5165\u53E3",charts:"\u8D8B\u52BF",gradient:"\u6CBF\u4E3B\u5E72\u7EBF\u7684\u8D44\u7528\u538B\u5DEE",share_chart:"\u8FBE\u6807\u5165\u53E3\u6BD4\u4F8B\uFF08%\uFF09",pump_chart:"\u5FAA\u73AF\u6CF5\u626C\u7A0B\uFF08m\uFF09\u4E0E\u529F\u7387\uFF08kW\uFF09",forecast_chart:"\u70ED\u8D1F\u8377\uFF1A\u9884\u6D4B\u4E0E\u5B9E\u9645\uFF08kW\uFF09",head:"\u626C\u7A0B",power:"\u529F\u7387",forecast:"\u9884\u6D4B",actual:"\u5B9E\u9645",distance:"\u8DDD\u6362\u70ED\u7AD9\u8DDD\u79BB\uFF08m\uFF09",name:"\u5165\u53E3",state:"\u72B6\u6001",flow_dev:"\u6D41\u91CF\u504F\u5DEE\uFF08%\uFF09",return_c:"\u56DE\u6C34\uFF08\xB0C\uFF09",opening:"\u9600\u95E8\u5F00\u5EA6\uFF08%\uFF09",dp:"\u538B\u5DEE\uFF08kPa\uFF09",quality:"\u6570\u636E\uFF08%\uFF09",households:"\u6237",expand:"\u5C55\u5F00\u70ED\u7528\u6237",collapse:"\u6536\u8D77\u70ED\u7528\u6237",substation:"\u6362\u70ED\u7AD9",cycle:"\u8FD0\u884C\u65F6\u95F4",balancing:"\u8C03\u8282\u4E2D",balanced:"\u5DF2\u5E73\u8861",disturbed:"\u53D7\u6270\u52A8",not_balanced:"\u672A\u5E73\u8861",in_band:"\u8FBE\u6807",short:"\u6B20\u6D41",over:"\u8D85\u6D41",no_data:"\u65E0\u6570\u636E",fault:"\u6545\u969C",manual:"\u624B\u52A8",loop:"\u73AF\u8DEF",no_points:"\u7B49\u5F85\u7B2C\u4E00\u4E2A\u8C03\u8282\u5468\u671F\u2026",balance_now:"\u7ACB\u5373\u8C03\u8282",acknowledge:"\u786E\u8BA4\u62A5\u8B66",proposal:"\u624B\u52A8\u6A21\u5F0F\u63D0\u8BAE\uFF1A\u786E\u8BA4\u524D\u4E0D\u52A8\u4F5C",proposed_pump:"\u6C34\u6CF5\u8F6C\u901F\uFF08\u63D0\u8BAE\uFF09",proposed_valves:"\u5C06\u52A8\u4F5C\u7684\u9600\u95E8\u6570",proposed_opening:"\u63D0\u8BAE\u5F00\u5EA6\uFF08%\uFF09",not_proposed:"\u65E0\u63D0\u8BAE",no_valve_moves:"\u672C\u63D0\u8BAE\u4E2D\u6CA1\u6709\u9600\u95E8\u52A8\u4F5C\u3002",confirm:"\u786E\u8BA4\u63D0\u8BAE",done:"\u5DF2\u5B8C\u6210\u3002",archive:"\u5386\u53F2\u6570\u636E\uFF08\u5F52\u6863\uFF09",archive_inlet:"\u70ED\u529B\u5165\u53E3",archive_network:"\u6574\u4E2A\u7BA1\u7F51",archive_signal:"\u53C2\u6570",archive_from:"\u4ECE",archive_to:"\u5230",archive_show:"\u67E5\u8BE2",archive_empty:"\u8BE5\u65F6\u6BB5\u6CA1\u6709\u5F52\u6863\u7684\u8C03\u8282\u5468\u671F\u3002",archive_rows:"\u4E2A\u5468\u671F",archive_truncated:"\u622A\u81F3 50,000",archive_latest:"\u8868\u683C\uFF1A\u6700\u8FD1",archive_time:"\u65F6\u95F4",archive_quality:"\u6570\u636E\u8D28\u91CF",archive_hours:"\u5C0F\u65F6\uFF0C\u8D77\u70B9",flagged:"\u5DF2\u6807\u8BB0",estimated:"\u4F30\u7B97",estimated_legend:"\u2248 \u4F30\u7B97\u503C\uFF0C\u975E\u5B9E\u6D4B",estimated_tip:"\u7531\u8C03\u63A7\u5F15\u64CE\u4F30\u7B97\uFF0C\u975E\u5B9E\u6D4B\uFF1A\u4E22\u5931\u7684\u8BFB\u6570\u4E3A\u9884\u6D4B\u503C\uFF0C\u65E0\u4F4D\u7F6E\u53CD\u9988\u7684\u9600\u95E8\u6309\u5DF2\u4E0B\u53D1\u6307\u4EE4\u5047\u5B9A\u5F00\u5EA6\uFF0C\u672A\u63A5\u538B\u529B\u53D8\u9001\u5668\u7684\u5165\u53E3\u538B\u5DEE\u53D6\u81EA\u7BA1\u7F51\u6A21\u578B\uFF0C\u5B9E\u9645\u7BA1\u7F51\u7684\u6362\u70ED\u7AD9\u53C2\u6570\u53D6\u81EA\u7BA1\u7F51\u6A21\u578B\u3002",rejected_tip:"\u8BE5\u8BFB\u6570\u88AB\u5F15\u64CE\u7684\u6570\u636E\u6E05\u6D17\u6216\u8BA1\u91CF\u6821\u9A8C\u5254\u9664\uFF08\u8D85\u91CF\u7A0B\u3001\u51BB\u7ED3\u3001\u5931\u6548\u3001\u4F20\u611F\u5668\u63A5\u53CD\uFF09\uFF1A\u4E0D\u663E\u793A\u3001\u4E0D\u53C2\u4E0E\u8C03\u8282\uFF1B\u539F\u503C\u4E0E\u539F\u56E0\u89C1\u4F20\u611F\u5668\u5C5E\u6027\u548C\u8BCA\u65AD\u4FE1\u606F\u3002",signals:{supply_c:"\u4F9B\u6C34\u6E29\u5EA6 (\xB0C)",return_c:"\u56DE\u6C34\u6E29\u5EA6 (\xB0C)",flow_m3h:"\u6D41\u91CF (m\xB3/h)",room_c:"\u5BA4\u6E29 (\xB0C)",opening:"\u9600\u95E8\u53CD\u9988 (0\u20131)",dp_kpa:"\u8D44\u7528\u538B\u5DEE (kPa)",heat_kw:"\u70ED\u91CF (kW)",setpoint:"\u8BBE\u5B9A\u503C",actual:"\u5B9E\u9645\u503C",deviation:"\u504F\u5DEE",flow_deviation:"\u6D41\u91CF\u504F\u5DEE (%)",command:"\u9600\u95E8\u6307\u4EE4 (0\u20131)",in_band:"\u8FBE\u6807 (1/0)",share_in_band:"\u8FBE\u6807\u6BD4\u4F8B (%)",spread:"\u79BB\u6563\u5EA6",outdoor_c:"\u5BA4\u5916\u6E29\u5EA6 (\xB0C)",pump_flow_m3h:"\u6C34\u6CF5\u6D41\u91CF (m\xB3/h)",pump_power_w:"\u6C34\u6CF5\u529F\u7387 (W)",forecast_kw:"\u9884\u6D4B\u70ED\u8D1F\u8377 (kW)",balanced:"\u5DF2\u5E73\u8861 (1/0)"}}};function zt(a){return a&&a.startsWith("zh")?Lt["zh-Hans"]:Lt.en}var T={in_band:"var(--success-color, #43a047)",short:"var(--info-color, #039be5)",over:"var(--error-color, #db4437)",no_data:"var(--disabled-color, #9e9e9e)",fault:"#8e24aa",manual:"var(--warning-color, #ffa600)"},ut=Object.keys(T),se=150,_t=118;function mt(a){let t=0;for(let e of a)t+=e.codePointAt(0)>=11904?11:6.4;return t}function ie(a,t){if(mt(a)<=t)return a;let e="";for(let s of a){if(mt(e+s+"\u2026")>t)break;e+=s}return`${e}\u2026`}var oe=[["name","name"],["state","state"],["flow_dev","flow_dev"],["return_c","return_c"],["opening","opening"],["dp_kpa","dp"],["alarms","alarms"],["quality","quality"]],B=class extends k{constructor(){super(),this._networks=null,this._entry=null,this._view=null,this._expanded=new Set,this._sort=["state",1],this._message="",this._archive=null,this._unsub=null,this._opened=performance.now()}connectedCallback(){super.connectedCallback(),this._opened=performance.now(),this.hass&&this._networks===null&&this._loadNetworks()}disconnectedCallback(){super.disconnectedCallback(),this._unsubscribe()}updated(t){t.has("hass")&&this.hass&&this._networks===null&&this._loadNetworks(),this._view&&this._view.live&&!this.hasAttribute("data-rendered")&&this.setAttribute("data-rendered",(performance.now()-this._opened).toFixed(0)),t.has("_view")&&this._view&&this._view.live&&(this.setAttribute("data-time",this._view.live.time_s),this.setAttribute("data-updated",Date.now())),this.toggleAttribute("dark",!!(this.hass&&this.hass.themes&&this.hass.themes.darkMode))}get _t(){let t=this.hass;return zt(t&&(t.locale&&t.locale.language||t.language)||"en")}async _loadNetworks(){this._networks=[],this._networks=await this.hass.callWS({type:"heatbalance/view/networks"});let t=new URLSearchParams(location.search).get("entry"),e=this._networks.find(s=>s.entry_id===t)||this._networks[0];e&&this._select(e.entry_id,!1)}async _select(t,e=!0){this._unsubscribe(),this._entry=t,this._view=null,this._expanded=new Set,this._archive=null,this.removeAttribute("data-rendered"),e&&(this._opened=performance.now());let s=await this.hass.connection.subscribeMessage(i=>this._onMessage(t,i),{type:"heatbalance/view/subscribe",entry_id:t});this._entry!==t?s():this._unsub=s}_unsubscribe(){this._unsub&&(this._unsub(),this._unsub=null)}_onMessage(t,e){if(t!==this._entry)return;if(e.topology){this._view={...e,history:e.history||[]};return}let s=this._view.history.slice(-719);e.point&&(!s.length||s[s.length-1].t!==e.point.t)&&s.push(e.point),this._view={...this._view,live:e.live,history:s}}render(){let t=this._t;return $`
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
      ${this._proposal(t)}
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
      <ha-card class="archive">
        <h2>${t.archive}</h2>
        ${this._archiveForm(t)}
        ${this._archiveResult(t)}
      </ha-card>
    `}_archiveChoice(){if(!this._archive){let e=i=>new Date(i-new Date(i).getTimezoneOffset()*6e4).toISOString().slice(0,16),s=Date.now();this._archive={inlet:"network",signal:"share_in_band",start:e(s-24*36e5),end:e(s+6e4),result:null,busy:!1,error:""}}return this._archive}_archiveForm(t){let e=this._archiveChoice(),s=this._signalsFor(e.inlet),i=o=>l=>{let c={...this._archive,[o]:l.target.value};o==="inlet"&&!this._signalsFor(c.inlet).includes(c.signal)&&(c.signal=this._signalsFor(c.inlet)[0]),this._archive=c},n=o=>t.signals&&t.signals[o]||o;return $`<div class="archive-form">
      <label>${t.archive_inlet}
        <select name="inlet" @change=${i("inlet")}>
          <option value="network" ?selected=${e.inlet==="network"}>${t.archive_network}</option>
          ${this._view.topology.inlets.map(o=>$`<option value=${o.id} ?selected=${e.inlet===o.id}>${o.name}</option>`)}
        </select></label>
      <label>${t.archive_signal}
        <select name="signal" @change=${i("signal")}>
          ${s.map(o=>$`<option value=${o} ?selected=${e.signal===o}>${n(o)}</option>`)}
        </select></label>
      <label>${t.archive_from}<input name="start" type="datetime-local" .value=${e.start} @change=${i("start")} /></label>
      <label>${t.archive_to}<input name="end" type="datetime-local" .value=${e.end} @change=${i("end")} /></label>
      <button data-action="archive" ?disabled=${e.busy} @click=${()=>this._queryArchive()}>${t.archive_show}</button>
      ${e.error?$`<span class="message">${e.error}</span>`:f}
    </div>`}_signalsFor(t){return(this._view.archive||{inlet:[],network:[]})[t==="network"?"network":"inlet"]}async _queryArchive(){let t={...this._archiveChoice(),busy:!0,error:""};this._archive=t;try{let e=await this.hass.callWS({type:"call_service",domain:"heatbalance",service:"history",service_data:{config_entry_id:this._entry,inlet:t.inlet,signals:[t.signal],start:new Date(t.start).toISOString(),end:new Date(t.end).toISOString()},return_response:!0});this._archive={...this._archive,busy:!1,result:{...e.response,signal:t.signal}}}catch(e){this._archive={...this._archive,busy:!1,result:null,error:e&&e.message||String(e)}}}_archiveResult(t){let e=this._archive&&this._archive.result;if(!e)return f;let s=e.rows,i=e.signal;if(!s.length)return $`<div class="chart-empty" data-archive-rows="0">${t.archive_empty}</div>`;let n=d=>{let m=d[i];return typeof m=="boolean"?m?1:0:m},o=s.map(d=>Date.parse(d.time)),l=o[0],c=Math.max(1,Math.ceil(s.length/600)),p=[];for(let d=0;d<s.length;d+=c)p.push([(o[d]-l)/36e5,n(s[d])]);let _=s.slice(-200).reverse(),r=d=>(d.flagged||[]).includes(i)?t.flagged:(d.estimated||[]).includes(i)?t.estimated:"",u=d=>d==null?"\u2013":String(typeof d=="number"?Math.round(d*1e3)/1e3:d),h=t.signals&&t.signals[i]||i;return $`<div class="archive-result" data-archive-rows=${s.length} data-archive-signal=${i} data-archive-inlet=${e.inlet}>
      ${H({name:"archive",series:[{label:h,color:"var(--primary-color)",points:p}],xLabel:`${t.archive_hours} ${new Date(l).toLocaleString()}`,empty:t.archive_empty})}
      <div class="counts">${s.length} ${t.archive_rows}${e.truncated?` (${t.archive_truncated})`:""}${s.length>_.length?` \u2014 ${t.archive_latest} ${_.length}`:""}</div>
      <div class="scroll-x archive-table"><table>
        <thead><tr><th>${t.archive_time}</th><th>${h}</th><th>${t.archive_quality}</th></tr></thead>
        <tbody>
          ${_.map(d=>$`<tr data-archive-time=${d.time}>
            <td>${new Date(d.time).toLocaleString()}</td><td data-value=${String(d[i])}>${u(d[i])}</td><td>${r(d)}</td>
          </tr>`)}
        </tbody>
      </table></div>
    </div>`}_summary(t){let e=this._view.live,s=this._view.history[this._view.history.length-1],i=s?s.state:e.balanced?"balanced":"balancing",n={};for(let p of Object.values(e.inlets))n[p.state]=(n[p.state]||0)+1;let o=(p,_,r="")=>$`<div class="tile ${r}"><span>${p}</span><b>${_}</b></div>`,l=(p,_)=>p==null?"\u2013":`${p} ${_}`,c=(p,_)=>(e.estimated||[]).includes(p)&&e[p]!==null&&e[p]!==void 0?$`<span class="estimated" data-estimated=${p} title=${t.estimated_tip}>≈ ${l(e[p],_)}</span>`:l(e[p],_);return $`<ha-card class="summary">
      ${o(t.balance_state,t[i]||i,`state-${i}`)}
      ${o(t.share_in_band,l(e.share_in_band,"%"))}
      ${o(t.supply,c("supply_c","\xB0C"))}
      ${o(t.return,c("return_c","\xB0C"))}
      ${o(t.outdoor,c("outdoor_c","\xB0C"))}
      ${o(t.alarms,e.alarms)}
      ${o(t.mode,e.auto?t.auto:t.manual_mode)}
      <div class="actions">
        <button data-action="balance_now" @click=${()=>this._call("balance_now")}>${t.balance_now}</button>
        <button data-action="acknowledge_alarm" ?disabled=${!e.alarms}
          @click=${()=>this._call("acknowledge_alarm")}>${t.acknowledge}</button>
        ${this._message?$`<span class="message">${this._message}</span>`:f}
      </div>
      <div class="counts">
        ${ut.filter(p=>n[p]).map(p=>$`<span class="count"><i style="background:${T[p]}"></i>${n[p]} ${t[p]}</span>`)}
      </div>
    </ha-card>`}_proposal(t){let e=this._view.live;if(!e.proposal)return f;let s=new Map(this._view.topology.inlets.map(l=>[l.id,l.name])),i=Object.entries(e.inlets).filter(([,l])=>l.command!==null&&l.command!==void 0&&l.command!==l.opening).map(([l,c])=>({id:l,name:s.get(l)||l,now:c.opening,command:c.command})).sort((l,c)=>l.name.localeCompare(c.name)),n=l=>l==null?"\u2013":`${l} %`,o=e.pump_command;return $`<ha-card class="proposal" data-proposal>
      <h2>${t.proposal}</h2>
      <div class="summary">
        <div class="tile" data-proposed-pump=${o==null?"":String(o)}>
          <span>${t.proposed_pump}</span><b>${o==null?t.not_proposed:n(o)}</b>
        </div>
        <div class="tile" data-moving><span>${t.proposed_valves}</span><b>${i.length}</b></div>
        <div class="actions">
          <button data-action="confirm_proposal" @click=${()=>this._call("confirm_proposal")}>${t.confirm}</button>
        </div>
      </div>
      ${i.length?$`<div class="scroll-x"><table>
            <thead><tr><th>${t.name}</th><th>${t.opening}</th><th>${t.proposed_opening}</th></tr></thead>
            <tbody>${i.map(l=>$`<tr data-proposed=${l.id}><td>${l.name}</td><td>${l.now??"\u2013"}</td>
                <td data-value="command">${l.command}</td></tr>`)}</tbody>
          </table></div>`:$`<p class="no-moves" data-no-moves>${t.no_valve_moves}</p>`}
    </ha-card>`}async _call(t){this._message="";try{await this.hass.callService("heatbalance",t,{config_entry_id:this._entry}),this._message=this._t.done}catch(e){this._message=e&&e.message||String(e)}}_legend(t){return $`<div class="legend">
      ${ut.map(e=>$`<span><i style="background:${T[e]}"></i>${t[e]}</span>`)}
      <span class="estimated" data-legend="estimated" title=${t.estimated_tip}>${t.estimated_legend}</span>
    </div>`}_graph(t){let{topology:e,live:s}=this._view,i=Rt(e,this._expanded),n=[...i.inlets.values()],o=Math.min(se,Math.max(40,...n.map(h=>mt(h.name)))),l=Math.max(0,...n.map(h=>h.x))+12+o+10,c=Math.max(l+_t+50,i.width+330+12),p=[];for(let[,h]of i.nodes){if(h.folded||h.parent===null)continue;let d=i.nodes.get(h.parent);d&&p.push(w`<path class="pipe" d="M${d.x},${d.y}V${h.y}H${h.x}"></path>`)}for(let[,h]of i.inlets){let d=i.nodes.get(h.parent);d&&p.push(w`<path class="pipe" d="M${d.x},${d.y}V${h.y}H${h.x}"></path>`)}let _=e.loops.map(([h,d])=>{let m=i.nodes.get(h),g=i.nodes.get(d);if(!m||!g)return f;let b=Math.max(m.x,g.x)+10;return w`<path class="loop" d="M${m.x},${m.y}H${b}V${g.y}H${g.x}"><title>${t.loop} ${h}–${d}</title></path>`}),r=i.nodes.get(e.substation.node),u=n.map(h=>this._inlet(t,h,s,l,l-h.x-22));return $`<svg class="graph" width=${c} height=${i.height+4} viewBox="-14 -2 ${c+14} ${i.height+4}">
      ${p}${_}
      ${r?w`<g class="substation"><rect x="-12" y=${r.y-8} width="16" height="16" rx="3"></rect>
            <title>${e.substation.name||t.substation}</title></g>`:f}
      ${u}
    </svg>`}_inlet(t,e,s,i,n){let o=s.inlets[e.id],l=o?o.state:"no_data",c=(m,g,b=0)=>m==null?"\u2013":`${m.toFixed(b)}${g}`,p=(m,g,b=0)=>o.estimated&&o.estimated.includes(m)&&o[m]!==null?w`<tspan class="estimated" data-estimated=${m}>≈${c(o[m],g,b)}<title>${t.estimated_tip}</title></tspan>`:w`<tspan data-value=${m}>${c(o[m],g,b)}</tspan>`,_=o?w`${p("flow_dev","%")}  ${p("return_c","\xB0C",1)}  ${p("opening","%")}`:"",r=e.households,u=this._expanded.has(e.id),h=u?r.map((m,g)=>{let b=s.households[m]||(s.inlets[m]?s.inlets[m].state:"no_data"),x=e.x+12+g%30*11,y=e.y+22/2+Math.floor(g/30)*11;return w`<rect class="household" data-household=${m} data-state=${b} x=${x} y=${y}
            width=${9} height=${9} fill=${T[b]}><title>${m}: ${t[b]}</title></rect>`}):f,d=r.length?w`<g class="toggle" data-toggle=${e.id} @click=${()=>this._toggle(e.id)}>
          <rect x=${i+_t} y=${e.y-8} width="40" height="16" rx="8"></rect>
          <text x=${i+_t+20} y=${e.y+4} text-anchor="middle">${u?"\u2212":"+"}${r.length}</text>
          <title>${u?t.collapse:t.expand} (${r.length} ${t.households})</title></g>`:f;return w`<g class="inlet" data-inlet=${e.id} data-state=${l} @click=${()=>this._open(e.id)}>
        <circle cx=${e.x} cy=${e.y} r="7" fill=${T[l]}></circle>
        <text x=${e.x+12} y=${e.y+4} class="name">${ie(e.name,n)}</text>
        <text x=${i} y=${e.y+4} class="values">${_}</text>
        <title>${e.name}: ${t[l]}</title>
      </g>${d}${h}`}_toggle(t){let e=new Set(this._expanded);e.has(t)?e.delete(t):e.add(t),this._expanded=e}_gradient(t){let{topology:e,live:s}=this._view,i=e.inlets.filter(l=>s.inlets[l.id]&&s.inlets[l.id].dp_kpa!==null&&Number.isFinite(l.dist_m)),n=i.map(l=>[l.dist_m,s.inlets[l.id].dp_kpa]).sort((l,c)=>l[0]-c[0]),o=i.filter(l=>(s.inlets[l.id].estimated||[]).includes("dp_kpa")).length;return $`${H({name:"gradient",series:[{label:"\u0394P (kPa)",color:"var(--primary-color)",points:n,dots:!0}],xLabel:t.distance,empty:t.no_points})}${o?$`<div class="estimated note" data-estimated-count=${o} title=${t.estimated_tip}>
          ${t.estimated_legend}: ${o} / ${i.length}</div>`:f}`}_charts(t){let e=this._view.history,s=e.length?e[0].t:0,i=l=>(l.t-s)/3600,n=(l,c,p,_=1)=>({key:l,label:c,color:p,points:e.map(r=>[i(r),r[l]===null||r[l]===void 0?null:r[l]*_])}),o=`${t.cycle} (h)`;return $`
      <h3>${t.share_chart}</h3>
      ${H({name:"share",series:[n("share",t.share_in_band,"var(--success-color, #43a047)")],fixed:[0,100],xLabel:o,empty:t.no_points})}
      <h3>${t.pump_chart}</h3>
      ${H({name:"pump",series:[n("head_m",t.head,"var(--primary-color)"),n("power_w",t.power,"var(--accent-color, #ff9800)",.001)],xLabel:o,empty:t.no_points})}
      <h3>${t.forecast_chart}</h3>
      ${H({name:"forecast",series:[n("forecast_kw",t.forecast,"var(--accent-color, #ff9800)"),n("heat_kw",t.actual,"var(--primary-color)"),{...n("heat_estimate_kw",`\u2248 ${t.estimated}`,"var(--primary-color)"),dashed:!0,dots:!0,optional:!0}],xLabel:o,empty:t.no_points})}
    `}_table(t){let{topology:e,live:s}=this._view,[i,n]=this._sort,o=new Map(e.inlets.map(r=>[r.id,r.name])),l=Object.entries(s.inlets).map(([r,u])=>({id:r,name:o.get(r)||r,...u})),c=r=>i==="state"?ut.indexOf(r.state):r[i];l.sort((r,u)=>{let h=c(r),d=c(u);return h===d?r.name.localeCompare(u.name):h==null?1:d==null?-1:(h<d?-1:1)*n});let p=r=>r??"\u2013",_=(r,u)=>r.estimated&&r.estimated.includes(u)&&r[u]!==null&&r[u]!==void 0?$`<td class="estimated" data-estimated=${u} title=${t.estimated_tip}>≈ ${r[u]}</td>`:r.flagged&&r.flagged.includes(u)&&(r[u]===null||r[u]===void 0)?$`<td class="rejected" data-rejected=${u} title=${t.rejected_tip}>✕</td>`:$`<td>${p(r[u])}</td>`;return $`<div class="scroll-x"><table>
      <thead><tr>
        ${oe.map(([r,u])=>$`<th data-sort=${r} class=${r===i?n>0?"asc":"desc":""}
            @click=${()=>this._sort=[r,r===i?-n:1]}>${t[u]}</th>`)}
      </tr></thead>
      <tbody>
        ${l.map(r=>$`<tr data-row=${r.id}>
            <td><a href=${this._deviceUrl(r.id)} @click=${u=>this._open(r.id,u)}>${r.name}</a></td>
            <td><i class="dot" style="background:${T[r.state]}"></i>${t[r.state]}</td>
            ${_(r,"flow_dev")}
            ${_(r,"return_c")}
            ${_(r,"opening")}
            ${_(r,"dp_kpa")}
            <td>${r.alarms}</td>
            <td>${p(r.quality)}</td>
          </tr>`)}
      </tbody>
    </table></div>`}_deviceUrl(t){let e=this._view.devices[t];return e&&this._view.admin?`/config/devices/device/${e.device_id}`:"#"}_open(t,e){e&&e.preventDefault();let s=this._view.devices[t];s&&(this._view.admin?(history.pushState(null,"",`/config/devices/device/${s.device_id}`),this.dispatchEvent(new CustomEvent("location-changed",{bubbles:!0,composed:!0}))):s.entity_id&&this.dispatchEvent(new CustomEvent("hass-more-info",{bubbles:!0,composed:!0,detail:{entityId:s.entity_id}})))}_toggleMenu(){this.dispatchEvent(new CustomEvent("hass-toggle-menu",{bubbles:!0,composed:!0}))}};G(B,"properties",{hass:{attribute:!1},narrow:{type:Boolean},panel:{attribute:!1},_networks:{state:!0},_entry:{state:!0},_view:{state:!0},_expanded:{state:!0},_sort:{state:!0},_message:{state:!0},_archive:{state:!0}}),G(B,"styles",Y`
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
    .estimated { font-style: italic; color: var(--secondary-text-color); }
    td.estimated, td.rejected, .legend .estimated { cursor: help; }
    td.rejected { color: var(--error-color, #db4437); }
    svg .estimated { font-style: italic; }
    .note { font-size: 12px; }
    .archive-form { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-end; margin-bottom: 8px; }
    .archive-form label { display: flex; flex-direction: column; font-size: 12px; color: var(--secondary-text-color); gap: 2px; }
    .archive-form select, .archive-form input { font: inherit; font-size: 13px; padding: 4px; border-radius: 4px; }
    .archive-form button {
      font: inherit; font-size: 13px; padding: 6px 12px; border-radius: 18px; cursor: pointer;
      border: 1px solid var(--primary-color); background: none; color: var(--primary-color);
    }
    .archive .chart { max-width: 760px; }
    .archive .chart svg { height: 160px; }
    .archive-table { max-height: 40vh; }
    .archive-table th:nth-child(2), .archive-table td:nth-child(2) { text-align: right; }
  `);customElements.get("heatbalance-panel")||customElements.define("heatbalance-panel",B);
